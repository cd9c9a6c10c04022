/**
 * Refresh tokens: opaque random values (256 bits), stored only as their SHA-256, each usable
 * once. A refresh rotates the token within its family (the login session); a token presented a
 * second time means it was stolen or replayed, and the caller revokes the whole family.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { authErrors } from './errors.js'
import type { AuthStore } from './store.js'

export interface RefreshTokenOptions {
  /** Lifetime of one refresh token, in seconds. Default 1 209 600 (14 days). */
  readonly lifetime?: number
  /** Absolute lifetime of a session, in seconds, however often it refreshes. Default 2 592 000 (30 days). */
  readonly sessionLifetime?: number
}

/** A refresh token as handed to the client: its value is shown once and never stored. */
export interface IssuedRefreshToken {
  readonly token: string
  readonly familyId: string
  /** Epoch ms. */
  readonly expiresAt: number
}

/** What presenting a refresh token led to. */
export type RotationOutcome =
  | { readonly kind: 'rotated'; readonly userId: string; readonly refresh: IssuedRefreshToken }
  /** The token had been used before: the family must be revoked. */
  | { readonly kind: 'reused'; readonly userId: string; readonly familyId: string }

/**
 * The SHA-256 of a refresh token, in hex: what the store keeps. A slow hash is not needed for 256 random bits.
 *
 * @example
 * await store.refreshToken(hashRefreshToken(tokenFromClient))
 */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

const invalid = (why: string) => authErrors.create('PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN', why)

/**
 * Issues and rotates refresh tokens on a store.
 *
 * @example
 * const refresh = new RefreshTokens(store)
 * const first = await refresh.start('user-1')
 * const outcome = await refresh.rotate(first.token) // { kind: 'rotated', refresh: { token, ... } }
 * await refresh.rotate(first.token) // { kind: 'reused', familyId }: revoke the family
 */
export class RefreshTokens {
  readonly lifetime: number
  readonly sessionLifetime: number
  readonly #store: AuthStore

  constructor(store: AuthStore, options: RefreshTokenOptions = {}) {
    this.lifetime = options.lifetime ?? 1_209_600
    this.sessionLifetime = options.sessionLifetime ?? 2_592_000
    if (!Number.isInteger(this.lifetime) || this.lifetime < 60) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `refresh token lifetime ${this.lifetime} s must be an integer of at least 60`)
    if (!Number.isInteger(this.sessionLifetime) || this.sessionLifetime < this.lifetime) {
      throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `session lifetime ${this.sessionLifetime} s must be an integer of at least the refresh token lifetime (${this.lifetime} s)`)
    }
    this.#store = store
  }

  /** Opens a family (a session) for the user, with its first token. */
  async start(userId: string): Promise<IssuedRefreshToken> {
    const now = Date.now()
    const family = { id: randomUUID(), userId, createdAt: now, expiresAt: now + this.sessionLifetime * 1000, revokedAt: undefined, revokeReason: undefined }
    await this.#store.createFamily(family)
    return this.#issue(family.id, userId, family.expiresAt, now)
  }

  /**
   * Uses `token` once and issues its successor. PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN when the
   * token is unknown, expired or of a revoked session; `reused` when it was used before.
   */
  async rotate(token: string): Promise<RotationOutcome> {
    if (typeof token !== 'string' || token.length < 20 || token.length > 200) throw invalid('the refresh token is missing or malformed')
    const hash = hashRefreshToken(token)
    const record = await this.#store.refreshToken(hash)
    if (!record) throw invalid('the refresh token is not recognised')
    const family = await this.#store.family(record.familyId)
    if (!family || family.revokedAt !== undefined) throw invalid(`the session was ended${family?.revokeReason ? ` (${family.revokeReason})` : ''}; log in again`)
    const now = Date.now()
    if (record.usedAt !== undefined) return { kind: 'reused', userId: record.userId, familyId: record.familyId }
    if (record.expiresAt <= now || family.expiresAt <= now) throw invalid('the refresh token has expired; log in again')
    // Two requests racing with one token: the store lets exactly one mark it, the other is a reuse.
    if (!(await this.#store.markRefreshTokenUsed(hash, now))) return { kind: 'reused', userId: record.userId, familyId: record.familyId }
    return { kind: 'rotated', userId: record.userId, refresh: await this.#issue(family.id, record.userId, family.expiresAt, now) }
  }

  /** The family a token belongs to, if the token is known: for logout with a refresh token. */
  async familyOf(token: string): Promise<{ familyId: string; userId: string } | undefined> {
    if (typeof token !== 'string') return undefined
    const record = await this.#store.refreshToken(hashRefreshToken(token))
    return record && { familyId: record.familyId, userId: record.userId }
  }

  async #issue(familyId: string, userId: string, sessionEnds: number, now: number): Promise<IssuedRefreshToken> {
    const token = randomBytes(32).toString('base64url')
    const expiresAt = Math.min(now + this.lifetime * 1000, sessionEnds)
    await this.#store.insertRefreshToken({ hash: hashRefreshToken(token), familyId, userId, issuedAt: now, expiresAt, usedAt: undefined })
    return { token, familyId, expiresAt }
  }
}
