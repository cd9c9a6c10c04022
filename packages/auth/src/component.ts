/**
 * The auth components for a Plinth app: the authentication service (`Auth`), the guard
 * (`AuthGuard`), the request-scoped `CurrentPrincipal`, and auth's migrations. Users, sessions
 * and audit events go to the app's database unless another store is given.
 */
import { Application, Logger, Metrics, accessor, optional, provide, token, type AnyProvider, type App, type ValueOf } from '@plinth/core'
import { Database } from '@plinth/db'
import type { AuthMetrics } from './authentication.js'
import { Authentication } from './authentication.js'
import { createAuthentication, type AuthOptions } from './create.js'
import { authErrors } from './errors.js'
import { Guard } from './guard.js'
import { authMigrations } from './migrations.js'
import { CurrentPrincipal, PrincipalSlot } from './principal.js'
import { SqlAuthStore } from './sql-store.js'
import type { AttemptCounter } from './attempt-counter.js'
import type { RevocationStore } from './revocation.js'
import type { AuthStore } from './store.js'

/**
 * The authentication service.
 *
 * @example
 * component('accounts', { deps: { auth: Auth }, create: ({ auth }) => new Accounts(auth) })
 */
export const Auth = token('auth').of<Authentication>()

/**
 * The guard of every protocol.
 *
 * @example
 * provide(Routes, { deps: { guard: AuthGuard }, create: ({ guard }) => (http) => http.get('/me', { preValidation: guard.rest() }, handler) })
 */
export const AuthGuard = token('auth-guard').of<Guard>()

/**
 * Where failed-login counts live, when the app provides it (a `RedisAttemptCounter` so that
 * instances share them); memory otherwise.
 *
 * @example
 * provide(AuthAttempts, { create: () => new RedisAttemptCounter(redis), })
 */
export const AuthAttempts = token('auth-attempts').of<AttemptCounter>()

/**
 * The deny list's store, when the app provides one shared between instances (a cache); memory otherwise.
 *
 * @example
 * provide(AuthRevocations, { deps: { cache: Cache }, create: ({ cache }) => cacheRevocationStore(cache) })
 */
export const AuthRevocations = token('auth-revocations').of<RevocationStore>()

/** The options of the auth component: `AuthOptions` with the store defaulting to the app's database. */
export interface AuthComponentOptions extends Omit<AuthOptions, 'store' | 'log' | 'metrics'> {
  /** Default: `SqlAuthStore` on the app's `Database`. */
  readonly store?: AuthStore
  /** The realm of WWW-Authenticate challenges. Default: the app's name. */
  readonly realm?: string
}

export type OptionsInput = AuthComponentOptions | ((context: { config: unknown; app: App }) => AuthComponentOptions)

/** The options each auth() service provider was made with, for the preflight. */
export const authOptionsOf = new WeakMap<AnyProvider, OptionsInput>()

function prometheus(metrics: ValueOf<typeof Metrics>): AuthMetrics {
  const logins = metrics.counter({ name: 'auth_logins_total', help: 'Login attempts by outcome', labelNames: ['outcome'] })
  const lockouts = metrics.counter({ name: 'auth_lockouts_total', help: 'Brute-force lockouts set, by scope (account or client address)', labelNames: ['scope'] })
  const reuses = metrics.counter({ name: 'auth_refresh_reuse_total', help: 'Refresh tokens presented twice (sessions revoked)' })
  return { login: (outcome) => logins.inc({ outcome }), lockout: (scope) => lockouts.inc({ scope }), refreshReuse: () => reuses.inc() }
}

/**
 * Auth as components: put the result among the app's components (or a module's).
 *
 * @example
 * createApp({
 *   name: 'api',
 *   components: [database(), httpServer(), ...auth({ roles: { admin: ['*'], user: [] }, defaultRoles: ['user'], issuer: 'https://api.example.com', audience: 'api' })],
 * })
 * // from the app's configuration:
 * auth(({ config }) => ({ ...(config as Settings).auth, roles }))
 */
export function auth(options: OptionsInput) {
  const service = provide(Auth, {
    deps: { app: Application, log: Logger, metrics: optional(Metrics), db: optional(Database), attempts: optional(AuthAttempts), revocations: optional(AuthRevocations) },
    create: async ({ app, log, metrics, db, attempts, revocations }) => {
      const resolved = typeof options === 'function' ? options({ config: app.config?.value, app }) : options
      const store = resolved.store ?? (db ? new SqlAuthStore(db) : undefined)
      if (!store) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', 'auth needs a store: add database() to the app, or pass store: new MemoryAuthStore() (tests only)')
      return createAuthentication({
        ...(attempts ? { attempts } : {}),
        ...(revocations ? { revocations } : {}),
        ...resolved,
        store,
        log: log.child({ component: 'auth' }), ...(metrics ? { metrics: prometheus(metrics) } : {}) })
    },
  })
  const guard = provide(AuthGuard, {
    deps: { app: Application, auth: Auth, slot: accessor(CurrentPrincipal) },
    create: ({ app, auth, slot }) => {
      const resolved = typeof options === 'function' ? options({ config: app.config?.value, app }) : options
      return new Guard(auth, { realm: resolved.realm ?? app.name, slot })
    },
  })
  const principal = provide(CurrentPrincipal, { lifetime: 'scoped', scope: 'request', create: () => new PrincipalSlot() })
  authOptionsOf.set(service, options)
  return [authMigrations(), service, guard, principal] as const
}

/** @internal The Authentication class, for type positions of the component's users. */
export type { Authentication }
