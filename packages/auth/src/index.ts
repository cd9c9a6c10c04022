/**
 * @plinth/auth: authentication and authorisation. argon2id passwords with a policy, short-lived
 * EdDSA access tokens with key rotation and a JWKS document, opaque rotating refresh tokens with
 * reuse detection, revocation, RBAC, guards for REST, gRPC, WebSocket and GraphQL, and
 * brute-force protection; state in the app's database through @plinth/db.
 */
export { AccessTokens, type AccessClaims, type AccessTokenOptions, type IssuedAccessToken } from './access-tokens.js'
export { MemoryAttemptCounter, type AttemptCounter } from './attempt-counter.js'
export { Authentication, type AuthMetrics, type AuthenticationParts, type ClientContext, type SecurityLog, type TokenPair, type UserView } from './authentication.js'
export { Auth, AuthAttempts, AuthGuard, AuthRevocations, auth, type AuthComponentOptions } from './component.js'
export { createAuthentication, type AuthOptions } from './create.js'
export { authErrors, type AuthErrorCode } from './errors.js'
export { Guard, bearerToken, challengeFor, type GraphQLContextLike, type MetadataLike, type WsContextLike } from './guard.js'
export { KeyRing, type JwksDocument, type KeyRingOptions, type SigningAlgorithm, type SigningKey } from './keys.js'
export { LoginThrottle, type LoginThrottleOptions, type Lockout } from './login-throttle.js'
export { MemoryAuthStore } from './memory-store.js'
export { authMigrations } from './migrations.js'
export { PasswordPolicy, type PasswordPolicyOptions, type PasswordProblem } from './password-policy.js'
export { PasswordHasher, owaspMinimumArgon2, type Argon2Parameters, type PasswordCheck } from './passwords.js'
export { CurrentPrincipal, PrincipalSlot, type Principal } from './principal.js'
export { RedisAttemptCounter, type RedisCommands } from './redis-attempt-counter.js'
export { RedisRevocationStore } from './redis-revocation-store.js'
export { RefreshTokens, hashRefreshToken, type IssuedRefreshToken, type RefreshTokenOptions, type RotationOutcome } from './refresh-tokens.js'
export { DenyList, MemoryRevocationStore, type RevocationStore } from './revocation.js'
export { Roles, allows, defineRoles, type RoleDeclaration } from './roles.js'
export { SqlAuthStore } from './sql-store.js'
export type { AuditEvent, AuthStore, FamilyRecord, RefreshTokenRecord, UserRecord } from './store.js'
// Registers auth's preflight checks (plinth validate) on import.
import './preflight.js'
