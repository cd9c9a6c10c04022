/**
 * The authentication service every protocol calls: register, login (with brute-force
 * protection and no user enumeration), refresh with rotation and reuse detection, logout,
 * logout everywhere, role changes, and turning an access token into a principal.
 */
import { randomUUID } from 'node:crypto'
import type { AccessTokens } from './access-tokens.js'
import { authErrors } from './errors.js'
import type { JwksDocument, KeyRing } from './keys.js'
import type { LoginThrottle } from './login-throttle.js'
import type { PasswordPolicy } from './password-policy.js'
import type { PasswordHasher } from './passwords.js'
import type { Principal } from './principal.js'
import type { RefreshTokens } from './refresh-tokens.js'
import type { DenyList } from './revocation.js'
import type { Roles } from './roles.js'
import type { AuditEvent, AuthStore, UserRecord } from './store.js'

/** Where security events are logged: a pino logger fits. */
export interface SecurityLog {
  info(details: Record<string, unknown>, message: string): void
  warn(details: Record<string, unknown>, message: string): void
}

/** Counters for dashboards and alerts; the auth component binds them to Prometheus. */
export interface AuthMetrics {
  login(outcome: 'success' | 'failure' | 'locked'): void
  lockout(scope: 'account' | 'address'): void
  refreshReuse(): void
}

/** What a login or refresh gives the client. */
export interface TokenPair {
  readonly tokenType: 'Bearer'
  readonly accessToken: string
  /** Seconds until the access token expires. */
  readonly expiresIn: number
  readonly refreshToken: string
  /** Epoch ms. */
  readonly refreshExpiresAt: number
}

/** A user as shown to clients: never the hash. */
export interface UserView {
  readonly id: string
  readonly email: string
  readonly roles: readonly string[]
  readonly createdAt: string
}

/** Where a request came from, for throttling and the audit trail. */
export interface ClientContext {
  readonly ip?: string | undefined
}

export interface AuthenticationParts {
  readonly store: AuthStore
  readonly hasher: PasswordHasher
  readonly policy: PasswordPolicy
  readonly keys: KeyRing
  readonly accessTokens: AccessTokens
  readonly refreshTokens: RefreshTokens
  readonly denyList: DenyList
  readonly throttle: LoginThrottle
  readonly roles: Roles
  /** Roles of a newly registered user. Default none. */
  readonly defaultRoles?: readonly string[]
  readonly log: SecurityLog
  readonly metrics?: AuthMetrics
}

const emailPattern = /^[^\s@]{1,64}@[^\s@]{1,255}$/

function view(user: UserRecord): UserView {
  return { id: user.id, email: user.email, roles: user.roles, createdAt: new Date(user.createdAt).toISOString() }
}

function credentials(input: unknown): { email: string; password: string } {
  const { email, password } = (input ?? {}) as { email?: unknown; password?: unknown }
  if (typeof email !== 'string' || typeof password !== 'string') {
    throw authErrors.create('PLINTH_ERR_AUTH_INVALID_INPUT', `expected { email: string, password: string }; got email ${typeof email}, password ${typeof password}`)
  }
  return { email: email.trim().toLowerCase(), password }
}

/**
 * Authentication and session management.
 *
 * @example
 * const auth = await createAuthentication({ store: new MemoryAuthStore(), roles: defineRoles({ user: [] }), issuer: 'https://api.example.com', audience: 'api' })
 * await auth.register({ email: 'ada@example.com', password: 'tulip harbour quietly forty-seven' })
 * const tokens = await auth.login({ email: 'ada@example.com', password: 'tulip harbour quietly forty-seven' }, { ip: '203.0.113.9' })
 * const principal = await auth.authenticate(tokens.accessToken)
 */
export class Authentication {
  readonly #parts: AuthenticationParts

  constructor(parts: AuthenticationParts) {
    parts.roles.assertKnown(parts.defaultRoles ?? [])
    this.#parts = parts
  }

  get roles(): Roles {
    return this.#parts.roles
  }

  get store(): AuthStore {
    return this.#parts.store
  }

  /** Creates an account after checking the password policy. */
  async register(input: unknown, client: ClientContext = {}): Promise<UserView> {
    const { email, password } = credentials(input)
    if (!emailPattern.test(email)) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_INPUT', `"${email}" is not an email address`)
    this.#parts.policy.assert(password, { email })
    const user: UserRecord = { id: randomUUID(), email, passwordHash: await this.#parts.hasher.hash(password), roles: [...(this.#parts.defaultRoles ?? [])], tokenVersion: 0, createdAt: Date.now() }
    await this.#parts.store.createUser(user)
    await this.#audit({ type: 'registered', userId: user.id, ip: client.ip })
    return view(user)
  }

  /**
   * Checks the credentials and opens a session. A wrong password and an unknown email give the
   * same error after the same work (one argon2 verification); a locked account or address
   * gives PLINTH_ERR_AUTH_LOCKED with `details.retryAfter`.
   */
  async login(input: unknown, client: ClientContext = {}): Promise<TokenPair> {
    const { email, password } = credentials(input)
    const { throttle, store, hasher, log, metrics } = this.#parts
    try {
      await throttle.assertAllowed(email, client.ip)
    } catch (error) {
      metrics?.login('locked')
      throw error
    }
    const user = await store.userByEmail(email)
    const check = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyNothing(password).then(() => ({ valid: false, needsRehash: false }))
    if (!user || !check.valid) {
      metrics?.login('failure')
      const locks = await throttle.recordFailure(email, client.ip)
      await this.#audit({ type: 'login_failed', userId: user?.id, ip: client.ip })
      for (const lock of locks) {
        metrics?.lockout(lock.scope)
        const retryAfter = Math.ceil((lock.until - Date.now()) / 1000)
        log.warn({ security: 'lockout', scope: lock.scope, key: lock.key, failures: lock.failures, retryAfter, ip: client.ip }, `login locked for ${lock.scope} after ${lock.failures} failures, for ${retryAfter} s`)
        await this.#audit({ type: 'locked_out', userId: user?.id, ip: client.ip, details: { scope: lock.scope, failures: lock.failures, until: lock.until } })
      }
      throw authErrors.create('PLINTH_ERR_AUTH_INVALID_CREDENTIALS', 'the email or the password is wrong')
    }
    await throttle.recordSuccess(email)
    if (check.needsRehash) {
      // The hash was made with older parameters: the password is at hand now, so upgrade it.
      await store.updatePasswordHash(user.id, await hasher.hash(password))
      await this.#audit({ type: 'password_rehashed', userId: user.id, details: hasher.parameters as unknown as Record<string, unknown> })
    }
    metrics?.login('success')
    const refresh = await this.#parts.refreshTokens.start(user.id)
    await this.#audit({ type: 'login', userId: user.id, ip: client.ip, details: { session: refresh.familyId } })
    return this.#pair(user, refresh)
  }

  /**
   * Rotates a refresh token. A token used before revokes its whole session (its refresh tokens
   * and access tokens), is logged as a security event, and is refused.
   */
  async refresh(refreshToken: unknown, client: ClientContext = {}): Promise<TokenPair> {
    const outcome = await this.#parts.refreshTokens.rotate(refreshToken as string)
    if (outcome.kind === 'reused') {
      await this.#endSession(outcome.familyId, 'refresh token reused')
      this.#parts.metrics?.refreshReuse()
      this.#parts.log.warn({ security: 'refresh_reuse', userId: outcome.userId, session: outcome.familyId, ip: client.ip }, 'a refresh token was presented twice; its session is revoked')
      await this.#audit({ type: 'refresh_reused', userId: outcome.userId, ip: client.ip, details: { session: outcome.familyId } })
      throw authErrors.create('PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN', 'the refresh token was already used; the session is revoked, log in again')
    }
    const user = await this.#parts.store.userById(outcome.userId)
    if (!user) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN', 'the account of this refresh token no longer exists')
    return this.#pair(user, outcome.refresh)
  }

  /** Ends the principal's session: its refresh tokens stop working and its access tokens are denied. */
  async logout(principal: Principal, client: ClientContext = {}): Promise<void> {
    await this.#endSession(principal.sessionId, 'logout')
    await this.#parts.denyList.denyToken(principal.tokenId, principal.expiresAt)
    await this.#audit({ type: 'logout', userId: principal.userId, ip: client.ip, details: { session: principal.sessionId } })
  }

  /** Ends every session of the user, on every device; resolves to how many were open. */
  async logoutAll(userId: string, client: ClientContext = {}): Promise<number> {
    const sessions = await this.#parts.store.revokeFamiliesOf(userId, 'logout everywhere', Date.now())
    const version = await this.#parts.store.raiseTokenVersion(userId)
    if (version === undefined) throw authErrors.create('PLINTH_ERR_AUTH_UNKNOWN_USER', `no user ${userId}`)
    await this.#parts.denyList.denyBelowVersion(userId, version, this.#tokenLifetime())
    await this.#audit({ type: 'logout_all', userId, ip: client.ip, details: { sessions: sessions.length } })
    return sessions.length
  }

  /** Replaces the user's roles; access tokens issued before stop working, so the change takes effect at once. */
  async changeRoles(userId: string, roles: readonly string[], by?: string): Promise<UserView> {
    this.#parts.roles.assertKnown(roles)
    const version = await this.#parts.store.setRoles(userId, roles)
    if (version === undefined) throw authErrors.create('PLINTH_ERR_AUTH_UNKNOWN_USER', `no user ${userId}`)
    await this.#parts.denyList.denyBelowVersion(userId, version, this.#tokenLifetime())
    await this.#audit({ type: 'roles_changed', userId, details: { roles, by } })
    return view((await this.#parts.store.userById(userId))!)
  }

  /** The principal an access token stands for; PLINTH_ERR_AUTH_UNAUTHENTICATED when it is not valid. */
  async authenticate(accessToken: string): Promise<Principal> {
    const claims = await this.#parts.accessTokens.verify(accessToken)
    return { userId: claims.sub, roles: claims.roles, permissions: this.#parts.roles.permissionsOf(claims.roles), tokenId: claims.jti, sessionId: claims.sid, expiresAt: claims.exp * 1000 }
  }

  /**
   * An access token for a service account (or a test) without a login: no password, no refresh
   * token, no session row, so it works while the database is down. It expires like any other.
   */
  async issueServiceToken(subject: string, roles: readonly string[]): Promise<string> {
    this.#parts.roles.assertKnown(roles)
    return (await this.#parts.accessTokens.issue({ sub: subject, roles, sid: `service:${randomUUID()}`, ver: 0 })).token
  }

  /** The user behind a principal. */
  async me(principal: Principal): Promise<UserView> {
    const user = await this.#parts.store.userById(principal.userId)
    if (!user) throw authErrors.create('PLINTH_ERR_AUTH_UNKNOWN_USER', `no user ${principal.userId}`)
    return view(user)
  }

  /**
   * Signs with a new key from now on; tokens of the previous key verify until they expire. With
   * keys shared between instances (`signingKeys`), rotate them where they are kept instead: this
   * rotates this instance's ring only.
   */
  async rotateSigningKey(): Promise<{ kid: string }> {
    const key = await this.#parts.keys.rotate()
    this.#parts.log.info({ security: 'key_rotated', kid: key.kid }, 'access tokens are signed with a new key')
    return { kid: key.kid }
  }

  /** The public keys that verify access tokens. */
  jwks(): JwksDocument {
    return this.#parts.keys.jwks()
  }

  async #pair(user: UserRecord, refresh: { token: string; familyId: string; expiresAt: number }): Promise<TokenPair> {
    const access = await this.#parts.accessTokens.issue({ sub: user.id, roles: user.roles, sid: refresh.familyId, ver: user.tokenVersion })
    return { tokenType: 'Bearer', accessToken: access.token, expiresIn: access.expiresIn, refreshToken: refresh.token, refreshExpiresAt: refresh.expiresAt }
  }

  async #endSession(familyId: string, reason: string): Promise<void> {
    await this.#parts.store.revokeFamily(familyId, reason, Date.now())
    await this.#parts.denyList.denySession(familyId, this.#tokenLifetime())
  }

  /** How long a deny-list entry must live: an access token's lifetime plus the clock tolerance. */
  #tokenLifetime(): number {
    return (this.#parts.accessTokens.lifetime + this.#parts.accessTokens.clockTolerance) * 1000
  }

  #audit(event: Omit<AuditEvent, 'at'>): Promise<void> {
    return this.#parts.store.recordAudit({ ...event, at: Date.now() })
  }
}
