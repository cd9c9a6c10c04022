/**
 * The contract of the counters behind brute-force protection: failures per key within a window,
 * and locks with an end. `MemoryAttemptCounter` is the in-process one; `RedisAttemptCounter`
 * shares counts between instances.
 */

/** Failed-attempt counts and locks, by key (`account:<email>`, `address:<ip>`). */
export interface AttemptCounter {
  /** Adds a failure to `key`; the count expires `window` ms after the first failure. Resolves to the count. */
  fail(key: string, window: number): Promise<number>
  /** Forgets the failures of `key` (after a successful login). */
  clear(key: string): Promise<void>
  /** Locks `key` until `until` (epoch ms). */
  lock(key: string, until: number): Promise<void>
  /** When the lock on `key` ends, or undefined when it is not locked. */
  lockedUntil(key: string): Promise<number | undefined>
}

/**
 * Counts in the process: right for one instance. Several instances need `RedisAttemptCounter`,
 * or an attacker spreads attempts across them.
 *
 * @example
 * const counter = new MemoryAttemptCounter()
 * await counter.fail('account:ada@example.com', 15 * 60_000) // 1
 */
export class MemoryAttemptCounter implements AttemptCounter {
  readonly #counts = new Map<string, { count: number; endsAt: number }>()
  readonly #locks = new Map<string, number>()

  fail(key: string, window: number): Promise<number> {
    const now = Date.now()
    const current = this.#counts.get(key)
    const next = current && current.endsAt > now ? { count: current.count + 1, endsAt: current.endsAt } : { count: 1, endsAt: now + window }
    this.#counts.set(key, next)
    if (this.#counts.size > 100_000) this.#sweep(now)
    return Promise.resolve(next.count)
  }

  clear(key: string): Promise<void> {
    this.#counts.delete(key)
    this.#locks.delete(key)
    return Promise.resolve()
  }

  lock(key: string, until: number): Promise<void> {
    this.#locks.set(key, until)
    return Promise.resolve()
  }

  lockedUntil(key: string): Promise<number | undefined> {
    const until = this.#locks.get(key)
    if (until === undefined) return Promise.resolve(undefined)
    if (until <= Date.now()) {
      this.#locks.delete(key)
      return Promise.resolve(undefined)
    }
    return Promise.resolve(until)
  }

  // A flood of distinct keys (random emails) must not grow memory without bound.
  #sweep(now: number): void {
    for (const [key, entry] of this.#counts) if (entry.endsAt <= now) this.#counts.delete(key)
    for (const [key, until] of this.#locks) if (until <= now) this.#locks.delete(key)
  }
}
