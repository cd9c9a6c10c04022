/**
 * State keys: declared once, at module level, like tokens; values live in scopes, never in the
 * module. Leaves first: this file imports nothing of the package but its errors.
 */
import { stateErrors } from './errors.js'

/**
 * Where a piece of state lives:
 * - request: one HTTP request, gRPC call, WebSocket message, job or bus message (the container's
 *   request scope); in memory, gone when the request ends;
 * - session: one session, across its requests (keyed by the session id, in the state store);
 * - app: the whole application, shared by every instance on one store.
 */
export type StateScope = 'request' | 'session' | 'app'

/** A typed handle on a piece of state; read and write it through `States`. */
export interface StateKey<T> {
  readonly name: string
  readonly scope: StateScope
  /** Default TTL of the value in ms (session and app state); none: until removed or its session ends. */
  readonly ttl: number | undefined
  /** Carries T for type inference only. */
  readonly type?: T
}

export interface StateKeyOptions {
  /** Default 'request'. */
  scope?: StateScope
  ttl?: number
}

const scopes: readonly StateScope[] = ['request', 'session', 'app']

export function checkTtl(ttl: unknown, where: string): asserts ttl is number | undefined {
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)) {
    throw stateErrors.create('PLINTH_ERR_STATE_INVALID_TTL', `the TTL of ${where} is ${typeof ttl === 'number' ? ttl : `a ${typeof ttl}`}; give a positive number of milliseconds`)
  }
}

/**
 * Declares a piece of state: `state(name).of<T>({ scope, ttl })`.
 *
 * @example
 * export const cart = state('cart').of<{ items: string[] }>({ scope: 'session', ttl: 3_600_000 })
 * export const traceTag = state('trace-tag').of<string>() // request scope
 */
export function state(name: string): { of<T>(options?: StateKeyOptions): StateKey<T> } {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256 || /[\r\n]/.test(name)) {
    throw stateErrors.create('PLINTH_ERR_STATE_INVALID_KEY', `state name ${JSON.stringify(name) ?? String(name)} is not 1 to 256 characters without newlines`)
  }
  return {
    of<T>(options: StateKeyOptions = {}): StateKey<T> {
      const scope = options.scope ?? 'request'
      if (!scopes.includes(scope)) throw stateErrors.create('PLINTH_ERR_STATE_INVALID_KEY', `state "${name}" has scope "${String(scope)}"; use request, session or app`)
      checkTtl(options.ttl, `state "${name}"`)
      return Object.freeze({ name, scope, ttl: options.ttl })
    },
  }
}
