/**
 * What revokes access tokens before they expire: a small store of keys with expiry. Entries
 * live only as long as the tokens they revoke could, so the store stays small. Memory by default;
 * anything with these two calls (a Redis or @plinth/cache adapter) shares it between instances.
 */

/** A key-value store with expiry, as the deny list needs it. */
export interface RevocationStore {
  /** Stores `value` under `key` until `expiresAt` (epoch ms). */
  put(key: string, value: number, expiresAt: number): Promise<void>
  /** The value under `key`, or undefined when absent or expired. */
  get(key: string): Promise<number | undefined>
}

/**
 * The in-process store: right for one instance; several instances need a shared one.
 *
 * @example
 * const store = new MemoryRevocationStore()
 * await store.put('jti:abc', 1, Date.now() + 60_000)
 * await store.get('jti:abc') // 1
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #entries = new Map<string, { value: number; expiresAt: number }>()
  readonly #now: () => number
  #nextSweep = 0

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now
  }

  put(key: string, value: number, expiresAt: number): Promise<void> {
    this.#sweep()
    this.#entries.set(key, { value, expiresAt })
    return Promise.resolve()
  }

  get(key: string): Promise<number | undefined> {
    const entry = this.#entries.get(key)
    if (entry === undefined) return Promise.resolve(undefined)
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key)
      return Promise.resolve(undefined)
    }
    return Promise.resolve(entry.value)
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size
  }

  // Expired entries go at most once a minute, on a write, so that reads stay a map lookup.
  #sweep(): void {
    const now = this.#now()
    if (now < this.#nextSweep) return
    this.#nextSweep = now + 60_000
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key)
  }
}

/**
 * The deny list of access tokens, on a revocation store: a token by its id (logout of one
 * token), a session (a refresh-token family: logout, reuse detected), or every token of a user
 * below a version (logout everywhere, a role change).
 *
 * @example
 * const denied = new DenyList(new MemoryRevocationStore())
 * await denied.denyToken('jti-1', Date.now() + 900_000)
 * await denied.isDenied({ jti: 'jti-1', sid: 's', sub: 'u', ver: 0 }) // true
 */
export class DenyList {
  readonly #store: RevocationStore

  constructor(store: RevocationStore) {
    this.#store = store
  }

  /** Denies one access token until it would have expired. */
  denyToken(jti: string, expiresAt: number): Promise<void> {
    return this.#store.put(`jti:${jti}`, 1, expiresAt)
  }

  /** Denies every access token of a session (refresh-token family) for `lifetime` ms. */
  denySession(sid: string, lifetime: number): Promise<void> {
    return this.#store.put(`sid:${sid}`, 1, Date.now() + lifetime)
  }

  /** Denies every access token of user `sub` whose version is below `version`, for `lifetime` ms. */
  denyBelowVersion(sub: string, version: number, lifetime: number): Promise<void> {
    return this.#store.put(`ver:${sub}`, version, Date.now() + lifetime)
  }

  /** Whether a token with these claims has been revoked. */
  async isDenied(claims: { jti: string; sid: string; sub: string; ver: number }): Promise<boolean> {
    const [token, session, minimum] = await Promise.all([this.#store.get(`jti:${claims.jti}`), this.#store.get(`sid:${claims.sid}`), this.#store.get(`ver:${claims.sub}`)])
    return token !== undefined || session !== undefined || (minimum !== undefined && claims.ver < minimum)
  }
}
