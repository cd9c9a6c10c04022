/**
 * Auth's state in the process: for tests, examples and a single instance that may forget its
 * users on restart. Production keeps them in the database (`SqlAuthStore`).
 */
import { authErrors } from './errors.js'
import type { AuditEvent, AuthStore, FamilyRecord, RefreshTokenRecord, UserRecord } from './store.js'

/**
 * The in-memory store.
 *
 * @example
 * const store = new MemoryAuthStore()
 * await store.createUser({ id: 'u1', email: 'ada@example.com', passwordHash: '...', roles: [], tokenVersion: 0, createdAt: Date.now() })
 */
export class MemoryAuthStore implements AuthStore {
  readonly #users = new Map<string, UserRecord>()
  readonly #families = new Map<string, FamilyRecord>()
  readonly #tokens = new Map<string, RefreshTokenRecord>()
  readonly #audit: AuditEvent[] = []

  createUser(user: UserRecord): Promise<void> {
    if ([...this.#users.values()].some((known) => known.email === user.email)) {
      return Promise.reject(authErrors.create('PLINTH_ERR_AUTH_EMAIL_TAKEN', `${user.email} is registered already`))
    }
    this.#users.set(user.id, { ...user, roles: [...user.roles] })
    return Promise.resolve()
  }

  userByEmail(email: string): Promise<UserRecord | undefined> {
    return Promise.resolve([...this.#users.values()].find((user) => user.email === email))
  }

  userById(id: string): Promise<UserRecord | undefined> {
    return Promise.resolve(this.#users.get(id))
  }

  updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    const user = this.#users.get(userId)
    if (user) this.#users.set(userId, { ...user, passwordHash })
    return Promise.resolve()
  }

  setRoles(userId: string, roles: readonly string[]): Promise<number | undefined> {
    const user = this.#users.get(userId)
    if (!user) return Promise.resolve(undefined)
    this.#users.set(userId, { ...user, roles: [...roles], tokenVersion: user.tokenVersion + 1 })
    return Promise.resolve(user.tokenVersion + 1)
  }

  raiseTokenVersion(userId: string): Promise<number | undefined> {
    const user = this.#users.get(userId)
    if (!user) return Promise.resolve(undefined)
    this.#users.set(userId, { ...user, tokenVersion: user.tokenVersion + 1 })
    return Promise.resolve(user.tokenVersion + 1)
  }

  createFamily(family: FamilyRecord): Promise<void> {
    this.#families.set(family.id, family)
    return Promise.resolve()
  }

  family(id: string): Promise<FamilyRecord | undefined> {
    return Promise.resolve(this.#families.get(id))
  }

  revokeFamily(id: string, reason: string, at: number): Promise<boolean> {
    const family = this.#families.get(id)
    if (!family || family.revokedAt !== undefined) return Promise.resolve(false)
    this.#families.set(id, { ...family, revokedAt: at, revokeReason: reason })
    return Promise.resolve(true)
  }

  revokeFamiliesOf(userId: string, reason: string, at: number): Promise<string[]> {
    const revoked: string[] = []
    for (const family of this.#families.values()) {
      if (family.userId !== userId || family.revokedAt !== undefined) continue
      this.#families.set(family.id, { ...family, revokedAt: at, revokeReason: reason })
      revoked.push(family.id)
    }
    return Promise.resolve(revoked)
  }

  insertRefreshToken(token: RefreshTokenRecord): Promise<void> {
    this.#tokens.set(token.hash, token)
    return Promise.resolve()
  }

  refreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    return Promise.resolve(this.#tokens.get(hash))
  }

  markRefreshTokenUsed(hash: string, at: number): Promise<boolean> {
    const token = this.#tokens.get(hash)
    if (!token || token.usedAt !== undefined) return Promise.resolve(false)
    this.#tokens.set(hash, { ...token, usedAt: at })
    return Promise.resolve(true)
  }

  recordAudit(event: AuditEvent): Promise<void> {
    this.#audit.push(event)
    return Promise.resolve()
  }

  auditEvents(filter: { userId?: string; type?: AuditEvent['type']; limit?: number } = {}): Promise<AuditEvent[]> {
    const matching = this.#audit.filter((event) => (filter.userId === undefined || event.userId === filter.userId) && (filter.type === undefined || event.type === filter.type))
    return Promise.resolve(matching.reverse().slice(0, filter.limit ?? 100))
  }
}
