/**
 * The deny list's store in Redis, so that a logout on one instance is honoured by all. Takes any
 * client with `set ... PX` and `get` (ioredis fits); until @plinth/cache backs it, this is the
 * shared store.
 */
import type { RedisCommands } from './redis-attempt-counter.js'
import type { RevocationStore } from './revocation.js'

/**
 * Revocations in Redis under `prefix` (default `plinth:auth:revoked:`), each expiring with the
 * tokens it revokes.
 *
 * @example
 * import { Redis } from 'ioredis'
 * provide(AuthRevocations, { create: () => new RedisRevocationStore(new Redis(process.env.REDIS_URL!)) })
 */
export class RedisRevocationStore implements RevocationStore {
  readonly #redis: Pick<RedisCommands, 'set' | 'get'>
  readonly #prefix: string

  constructor(redis: Pick<RedisCommands, 'set' | 'get'>, options: { prefix?: string } = {}) {
    this.#redis = redis
    this.#prefix = options.prefix ?? 'plinth:auth:revoked:'
  }

  async put(key: string, value: number, expiresAt: number): Promise<void> {
    const ttl = Math.ceil(expiresAt - Date.now())
    if (ttl <= 0) return
    await this.#redis.set(`${this.#prefix}${key}`, String(value), 'PX', ttl)
  }

  async get(key: string): Promise<number | undefined> {
    const value = await this.#redis.get(`${this.#prefix}${key}`)
    return value === null ? undefined : Number(value)
  }
}
