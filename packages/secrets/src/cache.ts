import { backoffDelay, type HealthResult, type Logger } from '@plinth/core'
import type { SecretStore, SecretValue } from './contract.js'
import { secretsErrors } from './errors.js'
import { describeLocation, parseSecretReference, type SecretRequest } from './reference.js'

export interface SecretsOptions {
  /** How long a value is kept when its store gives no lease, in milliseconds. Default 300 000 (5 minutes). */
  readonly ttl?: number
  /** The share of the TTL after which a value is read again in the background. Default 2/3. */
  readonly refreshAt?: number
  /** Where rotations and failures are logged; a function when the logger comes later (the app's). */
  readonly log?: Logger | (() => Logger | undefined)
}

/** What /health says of one secret: where it came from, and when; never its value. */
export interface SecretSourceReport {
  readonly secret: string
  readonly source: string | undefined
  readonly version: number | undefined
  readonly fetchedAt: string | undefined
  readonly expiresAt: string | undefined
  /** The latest failure to refresh it, while the cached value is still served. */
  readonly error?: string
  /** The environment variable it was resolved into, and the configuration keys that variable sets. */
  readonly variable?: string
  readonly keys?: readonly string[]
}

/** What a watcher is told when a secret changes. */
export interface SecretChange {
  readonly secret: string
  readonly source: string
  readonly version: number | undefined
  readonly previousSource: string
  readonly previousVersion: number | undefined
}

type Listener = (value: string, change: SecretChange) => void

interface Entry {
  readonly request: SecretRequest
  current: SecretValue | undefined
  fetchedAt: number
  expiresAt: number
  failures: number
  error: string | undefined
  timer: NodeJS.Timeout | undefined
  reading: Promise<SecretValue> | undefined
  readonly listeners: Set<Listener>
  usedBy: { variable: string; keys: readonly string[] } | undefined
}

/**
 * Secrets as components use them: read through a store (the environment, Vault, or a chain),
 * cached for their lease or 5 minutes, and read again in the background at about two thirds of
 * that, so that a rotated secret reaches its consumers without a restart. A component that
 * holds a client built from a secret watches it and builds a new client when it changes.
 *
 * @example
 * const secrets = new SecretCache(new ChainSecrets([vault, new EnvSecrets()]))
 * const password = await secrets.get('vault:secret/data/db#password')
 * secrets.watch('vault:secret/data/db#password', (password) => pool.reconnect({ password }))
 */
export class SecretCache {
  readonly store: SecretStore
  readonly #ttl: number
  readonly #refreshAt: number
  readonly #log: () => Logger | undefined
  readonly #entries = new Map<string, Entry>()
  readonly #policy = { attempts: Number.POSITIVE_INFINITY, initialDelay: 1_000, maxDelay: 30_000, factor: 2, jitter: true }
  #closed = false

  constructor(store: SecretStore, options: SecretsOptions = {}) {
    this.store = store
    this.#ttl = options.ttl ?? 300_000
    this.#refreshAt = options.refreshAt ?? 2 / 3
    if (!(this.#ttl > 0)) throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', `the secrets cache TTL must be a positive number of milliseconds; got ${this.#ttl}`)
    if (!(this.#refreshAt > 0 && this.#refreshAt < 1)) throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', `refreshAt must lie between 0 and 1; got ${this.#refreshAt}`)
    const log = options.log
    this.#log = typeof log === 'function' ? log : () => log
  }

  /** The secret's value: from the cache while it is fresh, else from the store. */
  async get(reference: string | SecretRequest, signal?: AbortSignal): Promise<string> {
    return (await this.read(reference, signal)).value
  }

  /** The secret's value with its source and version. */
  read(reference: string | SecretRequest, signal?: AbortSignal): Promise<SecretValue> {
    const entry = this.#entry(reference)
    if (entry.current && entry.expiresAt > Date.now()) return Promise.resolve(entry.current)
    return this.#fetch(entry, signal)
  }

  /**
   * Calls `listener` with the new value each time the secret changes (a new version in Vault, a
   * fallback taking over, Vault answering again), and reads it now if nobody has yet. Returns
   * the function that stops watching.
   */
  watch(reference: string | SecretRequest, listener: Listener): () => void {
    const entry = this.#entry(reference)
    entry.listeners.add(listener)
    if (!entry.current && !entry.reading) this.#fetch(entry).catch(() => undefined)
    return () => void entry.listeners.delete(listener)
  }

  /**
   * Watches the secret an environment variable was resolved from (by `resolveSecretReferences`),
   * for a component that received it through the configuration. A variable that did not come
   * from a secret (Vault unset, a plain value) never changes: nothing is watched then.
   *
   * @example
   * secrets.watchVariable('OPENAI_API_KEY', (apiKey) => (client = new ChatClient({ apiKey })))
   */
  watchVariable(variable: string, listener: Listener): () => void {
    const entry = [...this.#entries.values()].find((e) => e.usedBy?.variable === variable)
    return entry ? this.watch(entry.request, listener) : () => undefined
  }

  /** Reads every cached secret (or the one named) again now, as the background refresh does. */
  async refresh(reference?: string | SecretRequest): Promise<void> {
    const entries = reference === undefined ? [...this.#entries.values()] : [this.#entry(reference)]
    await Promise.all(entries.map((entry) => this.#fetch(entry).catch(() => undefined)))
  }

  /** Records which variable and configuration keys a secret was resolved into, for /health. */
  describe(reference: string | SecretRequest, usedBy: { variable: string; keys: readonly string[] }): void {
    this.#entry(reference).usedBy = usedBy
  }

  /** Each secret read so far and where it came from, for /health. */
  sources(): SecretSourceReport[] {
    return [...this.#entries.values()].map((entry) => ({
      secret: entry.request.label,
      source: entry.current?.source,
      version: entry.current?.version,
      fetchedAt: entry.current ? new Date(entry.fetchedAt).toISOString() : undefined,
      expiresAt: entry.current ? new Date(entry.expiresAt).toISOString() : undefined,
      ...(entry.error ? { error: entry.error } : {}),
      ...(entry.usedBy ? { variable: entry.usedBy.variable, keys: entry.usedBy.keys } : {}),
    }))
  }

  /** Up while every secret has a value and the store is well; degraded while a refresh fails or a fallback answers. */
  health(): HealthResult {
    const store = this.store.health?.()
    const storeResult = store === undefined ? { status: 'up' as const } : typeof store === 'string' ? { status: store } : store
    const secrets = this.sources()
    const missing = secrets.some((s) => s.source === undefined)
    const failing = secrets.some((s) => s.error !== undefined)
    const status = missing ? 'down' : failing || storeResult.status !== 'up' ? 'degraded' : 'up'
    return { status, details: { store: this.store.name, ...storeResult.details, secrets } }
  }

  /** True once close() was called: the cache reads nothing more in the background. */
  get closed(): boolean {
    return this.#closed
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const entry of this.#entries.values()) clearTimeout(entry.timer)
    await this.store.close?.()
  }

  #entry(reference: string | SecretRequest): Entry {
    const request = typeof reference === 'string' ? parseSecretReference(reference) : reference
    let entry = this.#entries.get(request.label)
    if (!entry) {
      entry = { request, current: undefined, fetchedAt: 0, expiresAt: 0, failures: 0, error: undefined, timer: undefined, reading: undefined, listeners: new Set(), usedBy: undefined }
      this.#entries.set(request.label, entry)
    }
    return entry
  }

  #fetch(entry: Entry, signal?: AbortSignal): Promise<SecretValue> {
    entry.reading ??= this.#readFromStore(entry, signal).finally(() => (entry.reading = undefined))
    return entry.reading
  }

  async #readFromStore(entry: Entry, signal: AbortSignal | undefined): Promise<SecretValue> {
    const { request } = entry
    let value: SecretValue | undefined
    try {
      value = await this.store.read(request, signal)
      if (!value) throw notFound(request, this.store.name)
    } catch (error) {
      entry.failures++
      entry.error = (error as Error).message
      if (entry.failures === 1 && entry.current) this.#log()?.warn({ secret: request.label, err: error }, `refreshing the secret ${request.label} failed; the cached value is served until ${new Date(entry.expiresAt).toISOString()}`)
      // A secret that was read once keeps being retried in the background; one never read is the caller's failure.
      if (entry.current) this.#schedule(entry, backoffDelay(this.#policy, entry.failures))
      throw error
    }
    const previous = entry.current
    const ttl = value.ttl ?? this.#ttl
    entry.current = value
    entry.fetchedAt = Date.now()
    entry.expiresAt = entry.fetchedAt + ttl
    entry.failures = 0
    entry.error = undefined
    this.#schedule(entry, ttl * this.#refreshAt)
    if (previous && (previous.value !== value.value || previous.source !== value.source)) {
      const change: SecretChange = { secret: request.label, source: value.source, version: value.version, previousSource: previous.source, previousVersion: previous.version }
      this.#log()?.info(change, `secret ${request.label} changed (${describeChange(change)}); ${entry.listeners.size} watcher(s) notified`)
      for (const listener of [...entry.listeners]) {
        try {
          listener(value.value, change)
        } catch (error) {
          this.#log()?.error({ secret: request.label, err: error }, `a watcher of the secret ${request.label} threw`)
        }
      }
    }
    return value
  }

  #schedule(entry: Entry, delay: number): void {
    clearTimeout(entry.timer)
    if (this.#closed) return
    entry.timer = setTimeout(() => void this.#fetch(entry).catch(() => undefined), delay)
    entry.timer.unref()
  }
}

function describeChange(change: SecretChange): string {
  const from = `${change.previousSource}${change.previousVersion === undefined ? '' : ` v${change.previousVersion}`}`
  const to = `${change.source}${change.version === undefined ? '' : ` v${change.version}`}`
  return `${from} -> ${to}`
}

function notFound(request: SecretRequest, store: string) {
  const places = [request.vault ? `Vault ${describeLocation(request.vault)}` : undefined, request.env ? `the environment variable ${request.env}` : undefined].filter(Boolean)
  const looked = places.length > 0 ? `looked in ${places.join(', then ')}` : 'the reference names no place to look'
  return secretsErrors.create('PLINTH_ERR_SECRET_NOT_FOUND', `the secret ${request.label} was not found by the ${store} store: ${looked}`, { details: { secret: request.label } })
}
