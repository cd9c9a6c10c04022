/**
 * Auth's state in the app's database through @plinth/db (SQLite or PostgreSQL), in the tables
 * `authMigrations()` creates.
 */
import { randomBytes } from 'node:crypto'
import type { Database } from '@plinth/db'
import { authErrors } from './errors.js'
import type { AuditEvent, AuthStore, FamilyRecord, RefreshTokenRecord, UserRecord } from './store.js'

type Row = Record<string, unknown>

const optionalNumber = (value: unknown) => (value === null || value === undefined ? undefined : Number(value))
// Text columns come back as strings from both drivers; anything else is a schema mismatch worth seeing whole.
const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value))
const optionalString = (value: unknown) => (value === null || value === undefined ? undefined : text(value))

function toUser(row: Row): UserRecord {
  return {
    id: String(row.id),
    email: String(row.email),
    passwordHash: String(row.password_hash),
    roles: JSON.parse(String(row.roles)) as string[],
    tokenVersion: Number(row.token_version),
    createdAt: Number(row.created_at),
  }
}

function toFamily(row: Row): FamilyRecord {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: optionalNumber(row.revoked_at),
    revokeReason: optionalString(row.revoke_reason),
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

// Audit ids sort by time, then by order within this process: newest first is `order by id desc`.
let auditSequence = 0
function auditId(at: number): string {
  auditSequence = (auditSequence + 1) % 1_679_616
  return `${at.toString(36).padStart(9, '0')}${auditSequence.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`
}

/**
 * The database-backed store. Put `authMigrations()` among the app's components so its tables
 * exist.
 *
 * @example
 * component('auth-store', { deps: { db: Database }, create: ({ db }) => new SqlAuthStore(db) })
 */
export class SqlAuthStore implements AuthStore {
  readonly #db: Database['kysely']

  constructor(db: Pick<Database, 'kysely'>) {
    this.#db = db.kysely
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      await this.#db
        .insertInto('auth_users')
        .values({ id: user.id, email: user.email, password_hash: user.passwordHash, roles: JSON.stringify(user.roles), token_version: user.tokenVersion, created_at: user.createdAt })
        .execute()
    } catch (error) {
      if (isUniqueViolation(error)) throw authErrors.create('PLINTH_ERR_AUTH_EMAIL_TAKEN', `${user.email} is registered already`)
      throw error
    }
  }

  async userByEmail(email: string): Promise<UserRecord | undefined> {
    const row = (await this.#db.selectFrom('auth_users').selectAll().where('email', '=', email).executeTakeFirst())
    return row && toUser(row)
  }

  async userById(id: string): Promise<UserRecord | undefined> {
    const row = (await this.#db.selectFrom('auth_users').selectAll().where('id', '=', id).executeTakeFirst())
    return row && toUser(row)
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.#db.updateTable('auth_users').set({ password_hash: passwordHash }).where('id', '=', userId).execute()
  }

  async setRoles(userId: string, roles: readonly string[]): Promise<number | undefined> {
    return this.#raise(userId, { roles: JSON.stringify(roles) })
  }

  raiseTokenVersion(userId: string): Promise<number | undefined> {
    return this.#raise(userId, {})
  }

  async createFamily(family: FamilyRecord): Promise<void> {
    await this.#db
      .insertInto('auth_refresh_families')
      .values({ id: family.id, user_id: family.userId, created_at: family.createdAt, expires_at: family.expiresAt, revoked_at: family.revokedAt ?? null, revoke_reason: family.revokeReason ?? null })
      .execute()
  }

  async family(id: string): Promise<FamilyRecord | undefined> {
    const row = (await this.#db.selectFrom('auth_refresh_families').selectAll().where('id', '=', id).executeTakeFirst())
    return row && toFamily(row)
  }

  async revokeFamily(id: string, reason: string, at: number): Promise<boolean> {
    const result = await this.#db.updateTable('auth_refresh_families').set({ revoked_at: at, revoke_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async revokeFamiliesOf(userId: string, reason: string, at: number): Promise<string[]> {
    return this.#db.transaction().execute(async (trx) => {
      const rows = (await trx.selectFrom('auth_refresh_families').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute()) as Row[]
      const ids = rows.map((row) => String(row.id))
      if (ids.length > 0) await trx.updateTable('auth_refresh_families').set({ revoked_at: at, revoke_reason: reason }).where('id', 'in', ids).where('revoked_at', 'is', null).execute()
      return ids
    })
  }

  async insertRefreshToken(token: RefreshTokenRecord): Promise<void> {
    await this.#db
      .insertInto('auth_refresh_tokens')
      .values({ hash: token.hash, family_id: token.familyId, user_id: token.userId, issued_at: token.issuedAt, expires_at: token.expiresAt, used_at: token.usedAt ?? null })
      .execute()
  }

  async refreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const row = (await this.#db.selectFrom('auth_refresh_tokens').selectAll().where('hash', '=', hash).executeTakeFirst())
    if (!row) return undefined
    return { hash: String(row.hash), familyId: String(row.family_id), userId: String(row.user_id), issuedAt: Number(row.issued_at), expiresAt: Number(row.expires_at), usedAt: optionalNumber(row.used_at) }
  }

  async markRefreshTokenUsed(hash: string, at: number): Promise<boolean> {
    // One statement decides: of two concurrent refreshes with one token, exactly one updates the row.
    const result = await this.#db.updateTable('auth_refresh_tokens').set({ used_at: at }).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async recordAudit(event: AuditEvent): Promise<void> {
    await this.#db
      .insertInto('auth_audit_events')
      .values({ id: auditId(event.at), type: event.type, at: event.at, user_id: event.userId ?? null, ip: event.ip ?? null, details: event.details ? JSON.stringify(event.details) : null })
      .execute()
  }

  async auditEvents(filter: { userId?: string; type?: AuditEvent['type']; limit?: number } = {}): Promise<AuditEvent[]> {
    let query = this.#db.selectFrom('auth_audit_events').selectAll()
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
    if (filter.type !== undefined) query = query.where('type', '=', filter.type)
    const rows = (await query.orderBy('id', 'desc').limit(filter.limit ?? 100).execute()) as Row[]
    return rows.map((row) => ({
      type: String(row.type) as AuditEvent['type'],
      at: Number(row.at),
      userId: optionalString(row.user_id),
      ip: optionalString(row.ip),
      details: row.details === null || row.details === undefined ? undefined : (JSON.parse(text(row.details)) as Record<string, unknown>),
    }))
  }

  async #raise(userId: string, changes: Record<string, unknown>): Promise<number | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      const row = (await trx.selectFrom('auth_users').select('token_version').where('id', '=', userId).executeTakeFirst()) as Row | undefined
      if (!row) return undefined
      const version = Number(row.token_version) + 1
      await trx.updateTable('auth_users').set({ ...changes, token_version: version }).where('id', '=', userId).execute()
      return version
    })
  }
}
