/**
 * The contract of auth's storage: users, refresh-token families and their tokens, and audit
 * events. `SqlAuthStore` keeps them in the app's database through @plinth/db; `MemoryAuthStore`
 * in the process, for tests and examples. One conformance suite runs against both.
 */

/** A registered user. */
export interface UserRecord {
  readonly id: string
  /** Lower-cased and trimmed. */
  readonly email: string
  readonly passwordHash: string
  readonly roles: readonly string[]
  /** Raised by a role change and by logout everywhere: access tokens of a lower version are refused. */
  readonly tokenVersion: number
  readonly createdAt: number
}

/** A login session: the refresh tokens that descend from one login. */
export interface FamilyRecord {
  readonly id: string
  readonly userId: string
  readonly createdAt: number
  /** Absolute end of the session (epoch ms): no refresh extends it. */
  readonly expiresAt: number
  readonly revokedAt: number | undefined
  readonly revokeReason: string | undefined
}

/** One refresh token, stored by the SHA-256 of its value only. */
export interface RefreshTokenRecord {
  readonly hash: string
  readonly familyId: string
  readonly userId: string
  readonly issuedAt: number
  readonly expiresAt: number
  readonly usedAt: number | undefined
}

/** Something security-relevant that happened. */
export interface AuditEvent {
  readonly type: 'registered' | 'login' | 'login_failed' | 'locked_out' | 'refresh_reused' | 'logout' | 'logout_all' | 'roles_changed' | 'password_rehashed'
  readonly at: number
  readonly userId?: string | undefined
  /** The client address, when known. */
  readonly ip?: string | undefined
  readonly details?: Readonly<Record<string, unknown>> | undefined
}

/** Where auth keeps its state. Times are epoch milliseconds. */
export interface AuthStore {
  /** Adds a user; PLINTH_ERR_AUTH_EMAIL_TAKEN when the email is registered already. */
  createUser(user: UserRecord): Promise<void>
  userByEmail(email: string): Promise<UserRecord | undefined>
  userById(id: string): Promise<UserRecord | undefined>
  updatePasswordHash(userId: string, passwordHash: string): Promise<void>
  /** Replaces the user's roles and raises their token version; resolves to the new version (undefined: no such user). */
  setRoles(userId: string, roles: readonly string[]): Promise<number | undefined>
  /** Raises the user's token version; resolves to the new one (undefined: no such user). */
  raiseTokenVersion(userId: string): Promise<number | undefined>

  createFamily(family: FamilyRecord): Promise<void>
  family(id: string): Promise<FamilyRecord | undefined>
  /** Revokes one family; false when it was revoked already or does not exist. */
  revokeFamily(id: string, reason: string, at: number): Promise<boolean>
  /** Revokes every live family of the user; resolves to their ids. */
  revokeFamiliesOf(userId: string, reason: string, at: number): Promise<string[]>

  insertRefreshToken(token: RefreshTokenRecord): Promise<void>
  refreshToken(hash: string): Promise<RefreshTokenRecord | undefined>
  /** Marks the token used, atomically: true for exactly one caller, false once it was used. */
  markRefreshTokenUsed(hash: string, at: number): Promise<boolean>

  recordAudit(event: AuditEvent): Promise<void>
  /** Newest first. */
  auditEvents(filter?: { userId?: string; type?: AuditEvent['type']; limit?: number }): Promise<AuditEvent[]>
}
