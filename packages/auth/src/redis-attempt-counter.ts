/**
 * Brute-force counters in Redis, so that every instance of a service sees the same counts and
 * locks. Takes any client with these five commands (ioredis fits); the package depends on no
 * Redis library itself.
 */
import type { AttemptCounter } from './attempt-counter.js'

/** The Redis commands the counter uses, as ioredis names them. */
export interface RedisCommands {
  incr(key: string): Promise<number>
  pexpire(key: string, milliseconds: number): Promise<number>
  del(key: string): Promise<number>
  set(key: string, value: string, mode: 'PX', milliseconds: number): Promise<unknown>
  get(key: string): Promise<string | null>
}

/**
 * Counts and locks in Redis, under `prefix` (default `plinth:auth:`).
 *
 * @example
 * import { Redis } from 'ioredis'
 * const counter = new RedisAttemptCounter(new Redis(process.env.REDIS_URL!), { prefix: 'shop:auth:' })
 */
export class RedisAttemptCounter implements AttemptCounter {
  readonly #redis: RedisCommands
  readonly #prefix: string

  constructor(redis: RedisCommands, options: { prefix?: string } = {}) {
    this.#redis = redis
    this.#prefix = options.prefix ?? 'plinth:auth:'
  }

  async fail(key: string, window: number): Promise<number> {
    const name = `${this.#prefix}failures:${key}`
    const count = await this.#redis.incr(name)
    // The window starts at the first failure; a crash between the two commands leaves a count
    // without expiry, which the next first-failure check repairs.
    if (count === 1) await this.#redis.pexpire(name, window)
    else if (count % 10 === 0) await this.#redis.pexpire(name, window)
    return count
  }

  async clear(key: string): Promise<void> {
    await this.#redis.del(`${this.#prefix}failures:${key}`)
    await this.#redis.del(`${this.#prefix}lock:${key}`)
  }

  async lock(key: string, until: number): Promise<void> {
    const ttl = Math.max(1, until - Date.now())
    await this.#redis.set(`${this.#prefix}lock:${key}`, String(until), 'PX', ttl)
  }

  async lockedUntil(key: string): Promise<number | undefined> {
    const value = await this.#redis.get(`${this.#prefix}lock:${key}`)
    if (value === null) return undefined
    const until = Number(value)
    return until > Date.now() ? until : undefined
  }
}
