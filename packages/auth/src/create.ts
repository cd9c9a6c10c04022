/**
 * Assembles an `Authentication` from options: the parts with their defaults, each validated,
 * every problem reported at once where the check can go on.
 */
import type { JWK } from 'jose'
import { AccessTokens } from './access-tokens.js'
import { MemoryAttemptCounter, type AttemptCounter } from './attempt-counter.js'
import { Authentication, type AuthMetrics, type SecurityLog } from './authentication.js'
import { KeyRing, type SigningAlgorithm } from './keys.js'
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js'
import { PasswordPolicy, type PasswordPolicyOptions } from './password-policy.js'
import { PasswordHasher, type Argon2Parameters } from './passwords.js'
import { RefreshTokens, type RefreshTokenOptions } from './refresh-tokens.js'
import { DenyList, MemoryRevocationStore, type RevocationStore } from './revocation.js'
import { Roles, type RoleDeclaration } from './roles.js'
import type { AuthStore } from './store.js'

export interface AuthOptions {
  /** Where users, sessions and audit events live: `SqlAuthStore` (database) or `MemoryAuthStore`. */
  readonly store: AuthStore
  /** The roles and their permissions. */
  readonly roles: Roles | RoleDeclaration
  /** Roles a new user gets. Default none. */
  readonly defaultRoles?: readonly string[]
  /** The `iss` of access tokens. */
  readonly issuer: string
  /** The `aud` of access tokens. */
  readonly audience: string
  /** Access token lifetime in seconds. Default 900. */
  readonly accessTokenLifetime?: number
  /** Clock skew tolerated, in seconds. Default 30. */
  readonly clockTolerance?: number
  readonly refreshTokens?: RefreshTokenOptions
  /** Default 'EdDSA'. */
  readonly algorithm?: SigningAlgorithm
  /** Private JWKs, the signing key first, shared by every instance. Default: one generated key (tokens die with the process). */
  readonly signingKeys?: readonly JWK[]
  /** argon2id parameters. Default OWASP's m=19 MiB, t=2, p=1. */
  readonly argon2?: Partial<Argon2Parameters>
  /** A secret mixed into every password hash (kept outside the database). */
  readonly pepper?: string
  readonly passwordPolicy?: PasswordPolicyOptions
  readonly throttle?: LoginThrottleOptions
  /** Failure counters: memory by default; `RedisAttemptCounter` to share them between instances. */
  readonly attempts?: AttemptCounter
  /** The deny list's store: memory by default; a shared cache between instances. */
  readonly revocations?: RevocationStore
  /** Security events (lockouts, refresh reuse). Default: silent. */
  readonly log?: SecurityLog
  readonly metrics?: AuthMetrics
}

const silent: SecurityLog = { info: () => undefined, warn: () => undefined }

/**
 * Builds the authentication service from options.
 *
 * @example
 * const auth = await createAuthentication({
 *   store: new MemoryAuthStore(),
 *   roles: { admin: ['*'], user: ['profile:read'] },
 *   defaultRoles: ['user'],
 *   issuer: 'https://api.example.com',
 *   audience: 'api',
 * })
 */
export async function createAuthentication(options: AuthOptions): Promise<Authentication> {
  const denyList = new DenyList(options.revocations ?? new MemoryRevocationStore())
  const roles = options.roles instanceof Roles ? options.roles : new Roles(options.roles)
  const lifetime = options.accessTokenLifetime ?? 900
  const tolerance = options.clockTolerance ?? 30
  const ringOptions = { retainFor: (lifetime + tolerance) * 1000, ...(options.algorithm ? { algorithm: options.algorithm } : {}) }
  const keys = options.signingKeys ? await KeyRing.fromJwks(options.signingKeys, ringOptions) : await KeyRing.generate(ringOptions)
  return new Authentication({
    store: options.store,
    hasher: new PasswordHasher(options.argon2, options.pepper ? { pepper: options.pepper } : {}),
    policy: new PasswordPolicy(options.passwordPolicy),
    keys,
    accessTokens: new AccessTokens(keys, denyList, { issuer: options.issuer, audience: options.audience, lifetime, clockTolerance: tolerance }),
    refreshTokens: new RefreshTokens(options.store, options.refreshTokens),
    denyList,
    throttle: new LoginThrottle(options.attempts ?? new MemoryAttemptCounter(), options.throttle),
    roles,
    ...(options.defaultRoles ? { defaultRoles: options.defaultRoles } : {}),
    log: options.log ?? silent,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  })
}
