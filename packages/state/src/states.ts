/**
 * Reading and writing state in the current scope. The scopes are the container's: request state
 * lives in a map the container builds once per request scope (and drops with it); session state
 * is found through the innermost "session" scope, which carries a session id; app state is one
 * bucket of the store. Nothing lives in a module-level variable.
 */
import { randomBytes } from 'node:crypto'
import { isPlinthError, type Container, type Scope } from '@plinth/core'
import { stateErrors } from './errors.js'
import { fromJson, toJson } from './json.js'
import { checkTtl, type StateKey } from './key.js'
import type { StateStore } from './store.js'

/** The session a "session" scope stands for. */
export interface SessionContext {
  /** The session id; undefined until a first write starts a session. */
  id: string | undefined
  /** Started during this scope (the cookie must be sent). */
  started: boolean
  /** Ended during this scope (the cookie must be cleared). */
  ended: boolean
  /** @internal A start in progress, so that concurrent first writes start one session, not two. */
  starting?: Promise<string>
}

export interface StatesOptions {
  /** How long a session lives without a request, in ms. Default 24 h. */
  sessionTtl?: number
  /** Retries of update()'s compare-and-set under contention. Default 50. */
  maxRetries?: number
}

/** What a watcher receives: the new value (undefined when removed or expired) and why. */
export type StateWatcher<T> = (value: T | undefined, change: 'set' | 'delete' | 'expire') => void

export const appBucket = 'app'
const sessionBucket = (id: string) => `session:${id}`

/**
 * Request, session and app state, read and written in the current scope. Get it from the
 * container: `deps: { states: States }`.
 *
 * @example
 * const visits = state('visits').of<number>({ scope: 'session' })
 * await states.update(visits, (n = 0) => n + 1)
 */
export class StateScopes {
  readonly store: StateStore
  readonly #container: () => Container
  readonly #requestBag: () => Map<string, unknown>
  readonly #sessions = new WeakMap<Scope, SessionContext>()
  readonly #sessionTtl: number
  readonly #maxRetries: number

  /** @internal Made by the appState() component. */
  constructor(container: () => Container, requestBag: () => Map<string, unknown>, store: StateStore, options: StatesOptions = {}) {
    this.#container = container
    this.#requestBag = requestBag
    this.store = store
    checkTtl(options.sessionTtl, 'sessions')
    this.#sessionTtl = options.sessionTtl ?? 86_400_000
    this.#maxRetries = options.maxRetries ?? 50
  }

  /** How long a session lives without a request. */
  get sessionTtl(): number {
    return this.#sessionTtl
  }

  /**
   * The value of a piece of state in the current scope, or undefined.
   *
   * @example
   * const items = (await states.get(cart))?.items ?? []
   */
  async get<T>(key: StateKey<T>): Promise<T | undefined> {
    if (key.scope === 'request') return this.#bag(key).get(key.name) as T | undefined
    const bucket = this.#bucket(key)
    return bucket === undefined ? undefined : fromJson<T>(await this.store.get(bucket, key.name))
  }

  /**
   * Sets a piece of state in the current scope; session state starts a session when there is none.
   *
   * @example
   * await states.set(cart, { items: ['apple'] }, { ttl: 600_000 })
   */
  async set<T>(key: StateKey<T>, value: T, options: { ttl?: number } = {}): Promise<void> {
    if (key.scope === 'request') {
      this.#bag(key).set(key.name, value)
      return
    }
    checkTtl(options.ttl, `state "${key.name}"`)
    const text = toJson(value, `state "${key.name}"`)
    await this.store.set(await this.#writableBucket(key), key.name, text, options.ttl ?? key.ttl)
  }

  /**
   * Removes a piece of state; resolves to whether it was there.
   *
   * @example
   * await states.delete(cart)
   */
  async delete<T>(key: StateKey<T>): Promise<boolean> {
    if (key.scope === 'request') return this.#bag(key).delete(key.name)
    const bucket = this.#bucket(key)
    return bucket === undefined ? false : this.store.delete(bucket, key.name)
  }

  /**
   * Changes a piece of state atomically: `fn` gets the current value and returns the next
   * (undefined removes it). When another writer changed it meanwhile, `fn` runs again on the
   * new value, so no change is ever lost.
   *
   * @example
   * const count = await states.update(visits, (n = 0) => n + 1)
   */
  async update<T>(key: StateKey<T>, fn: (current: T | undefined) => T | undefined, options: { ttl?: number } = {}): Promise<T | undefined> {
    if (key.scope === 'request') {
      const bag = this.#bag(key)
      const next = fn(bag.get(key.name) as T | undefined)
      if (next === undefined) bag.delete(key.name)
      else bag.set(key.name, next)
      return next
    }
    checkTtl(options.ttl, `state "${key.name}"`)
    const bucket = await this.#writableBucket(key)
    for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
      const current = await this.store.get(bucket, key.name)
      const next = fn(fromJson<T>(current))
      const text = next === undefined ? undefined : toJson(next, `state "${key.name}"`)
      if (await this.store.compareAndSet(bucket, key.name, current, text, options.ttl ?? key.ttl)) return next
    }
    throw stateErrors.create('PLINTH_ERR_STATE_CONFLICT', `update of state "${key.name}" lost its compare-and-set ${this.#maxRetries} times to concurrent writers`)
  }

  /**
   * Sets `next` only if the state still holds `expected` (compared as JSON text, so pass the
   * value as read; undefined: absent). Resolves to whether it was set.
   *
   * @example
   * const won = await states.compareAndSet(leader, undefined, instanceId)
   */
  async compareAndSet<T>(key: StateKey<T>, expected: T | undefined, next: T | undefined, options: { ttl?: number } = {}): Promise<boolean> {
    if (key.scope === 'request') {
      const bag = this.#bag(key)
      if (bag.get(key.name) !== expected) return false
      if (next === undefined) bag.delete(key.name)
      else bag.set(key.name, next)
      return true
    }
    checkTtl(options.ttl, `state "${key.name}"`)
    const where = `state "${key.name}"`
    return this.store.compareAndSet(
      await this.#writableBucket(key),
      key.name,
      expected === undefined ? undefined : toJson(expected, where),
      next === undefined ? undefined : toJson(next, where),
      options.ttl ?? key.ttl,
    )
  }

  /**
   * Calls `fn` whenever a piece of app state, or of the current session's state, changes or
   * expires, on any instance sharing the store. Resolves to the function that stops watching.
   *
   * @example
   * const stop = await states.watch(maintenance, (on) => log.info({ on }, 'maintenance mode changed'))
   */
  async watch<T>(key: StateKey<T>, fn: StateWatcher<T>): Promise<() => Promise<void>> {
    if (key.scope === 'request') {
      throw stateErrors.create('PLINTH_ERR_STATE_INVALID_OPTIONS', `state "${key.name}" lives in the request scope, which nothing outside the request can observe; watch session or app state`)
    }
    const bucket = this.#bucket(key)
    if (bucket === undefined) throw stateErrors.create('PLINTH_ERR_STATE_NO_SCOPE', `state "${key.name}" is session state, and this session has not started yet; write to it first`)
    return this.store.watch(bucket, key.name, (change) => fn(fromJson<T>(change.value), change.type))
  }

  /** The id of the current session, if one has started. */
  get sessionId(): string | undefined {
    return this.#session()?.id
  }

  /**
   * Ends the current session: its state is dropped, and requests of it still running can no
   * longer write to it (they fail with PLINTH_ERR_STATE_SESSION_ENDED instead of reviving it).
   *
   * @example
   * await states.endSession() // logout
   */
  async endSession(): Promise<void> {
    const session = this.#session()
    if (session?.id === undefined) return
    await this.store.drop(sessionBucket(session.id))
    session.id = undefined
    session.ended = true
  }

  /**
   * Runs `fn` in a "session" scope for a session id (undefined: none yet; a write starts one).
   * An id whose session ended or expired counts as none. The cookie session plugin does this for
   * HTTP; gRPC, WebSocket or job handlers call it with the id they carry.
   *
   * @example
   * await states.inSession(call.metadata.get('session-id')[0], () => handle(call))
   */
  async inSession<R>(id: string | undefined, fn: (session: SessionContext) => R | Promise<R>): Promise<R> {
    const { scope, session } = await this.openSession(id)
    try {
      return await scope.run(() => fn(session))
    } finally {
      await scope.dispose()
    }
  }

  /** @internal Opens a "session" scope (not yet entered) for the cookie plugin. */
  async openSession(id: string | undefined): Promise<{ scope: Scope; session: SessionContext }> {
    const live = id !== undefined && (await this.store.touch(sessionBucket(id), this.#sessionTtl))
    const scope = this.#container().createScope('session')
    const session: SessionContext = { id: live ? id : undefined, started: false, ended: false }
    this.#sessions.set(scope, session)
    return { scope, session }
  }

  #bag(key: StateKey<unknown>): Map<string, unknown> {
    try {
      return this.#requestBag()
    } catch (error) {
      if (isPlinthError(error) && error.code === 'PLINTH_ERR_NO_SCOPE') {
        throw stateErrors.create('PLINTH_ERR_STATE_NO_SCOPE', `state "${key.name}" lives in the request scope, and no request is being handled here`, { cause: error })
      }
      throw error
    }
  }

  #session(): SessionContext | undefined {
    for (let scope = this.#container().currentScope(); scope !== undefined; scope = scope.parent) {
      if (scope.name === 'session') return this.#sessions.get(scope)
    }
    return undefined
  }

  /** The bucket of a key in the current scope; undefined for a session not started yet. */
  #bucket(key: StateKey<unknown>): string | undefined {
    if (key.scope === 'app') return appBucket
    const session = this.#session()
    if (session === undefined) {
      throw stateErrors.create('PLINTH_ERR_STATE_NO_SCOPE', `state "${key.name}" lives in the session scope, and no session scope is active here`)
    }
    if (session.ended) throw stateErrors.create('PLINTH_ERR_STATE_SESSION_ENDED', `state "${key.name}": this session was ended during this request`)
    return session.id === undefined ? undefined : sessionBucket(session.id)
  }

  async #writableBucket(key: StateKey<unknown>): Promise<string> {
    const bucket = this.#bucket(key)
    if (bucket !== undefined) return bucket
    const session = this.#session()!
    session.starting ??= (async () => {
      const id = randomBytes(24).toString('base64url')
      await this.store.open(sessionBucket(id), this.#sessionTtl)
      session.id = id
      session.started = true
      return id
    })()
    return sessionBucket(await session.starting)
  }
}
