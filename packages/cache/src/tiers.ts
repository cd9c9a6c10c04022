/**
 * What every namespace of one cache shares: the memory tier, the Redis tier when configured,
 * the counters, and the bookkeeping of invalidations and waiters. Redis failures never reach a
 * caller: they are counted, logged once per outage, and the cache answers from memory.
 */
import { randomUUID } from 'node:crypto'
import { describeError } from '@plinth/core'
import { now } from './clock.js'
import type { Codec } from './codec.js'
import { decodeEntry, encodeEntry, type Entry } from './entry.js'
import { MemoryTier, namespaceOf, type Space } from './memory.js'
import { RedisTier, type Invalidation } from './redis.js'
import { CacheStats, type TierCounters } from './stats.js'

/** The logging the cache needs (pino's Logger has it). */
export interface CacheLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

export interface TiersOptions {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly redis?: { readonly url?: string; readonly client?: import('ioredis').Redis; readonly prefix: string }
  readonly log: CacheLog
}

// Corrupted keys already logged; bounded, so a flood of bad entries cannot grow it without end.
const maxLoggedCorruptions = 1_000

export class Tiers {
  readonly instanceId = randomUUID()
  readonly stats = new CacheStats()
  readonly memory: MemoryTier
  readonly redis: RedisTier | undefined
  readonly log: CacheLog
  /** Loads in flight per key: concurrent getOrSet calls of one instance share one. */
  readonly inflight = new Map<string, Promise<unknown>>()
  closed = false
  readonly #waiters = new Map<string, Set<() => void>>()
  readonly #corruptionsLogged = new Set<string>()
  #outages = 0

  constructor(options: TiersOptions) {
    this.log = options.log
    this.memory = new MemoryTier({
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      onEvict: (namespace) => this.#evictionCounters(namespace).evictions++,
    })
    if (options.redis) {
      this.redis = new RedisTier({
        ...options.redis,
        instanceId: this.instanceId,
        onInvalidation: (message) => this.#invalidated(message),
        onRecovered: () => {
          // Invalidations sent while we were cut off are lost: what memory holds may be stale.
          this.memory.clear()
          this.log.info({ outages: this.#outages }, 'cache: Redis is reachable again; the memory tier was emptied of what may have changed meanwhile')
        },
        onLost: (error) => {
          this.#outages++
          // An outage, not a bug: its reason in the line, no stack (the recovery is logged too).
          this.log.warn({ reason: describeError(error) }, `cache: Redis is unreachable (${describeError(error)}); serving from the memory tier until it is back`)
        },
      })
    }
  }

  // The memory counters by namespace, so that an eviction (one per set in a full tier) builds no string.
  readonly #memoryCounters = new Map<string, TierCounters>()
  #evictionCounters(namespace: string): TierCounters {
    let counters = this.#memoryCounters.get(namespace)
    if (counters === undefined) this.#memoryCounters.set(namespace, (counters = this.stats.counters(namespace, 'memory')))
    return counters
  }

  /** Whether the Redis tier is configured and reachable. */
  get remote(): boolean {
    return this.redis?.available ?? false
  }

  /** Times Redis became unreachable since the cache was made. */
  get outages(): number {
    return this.#outages
  }

  /**
   * Reads a key from Redis: its entry (kept in memory when fresh), or undefined when absent,
   * unreachable or corrupted. Counts errors only; hits and misses are the caller's to count.
   */
  readRemote(space: Space, key: string, full: string, codec: Codec | undefined, counters: TierCounters): Promise<Entry | undefined> {
    const redis = this.redis
    if (redis === undefined || !redis.available) return Promise.resolve(undefined)
    // One then() on the client's promise, not async layers: this is the miss path's own cost.
    return redis.get(full).then(
      (text) => (text === null ? undefined : this.#decode(space, key, full, text, codec, counters)),
      (error: unknown) => {
        this.#failed(counters, error)
        return undefined
      },
    )
  }

  /**
   * The fresh value of a key in Redis (kept in memory), or undefined when absent, expired,
   * unreachable or corrupted; counts the hit or miss. One then() on the client's promise: on the
   * miss path of `get`, each promise and closure more is garbage that costs as much as the read.
   */
  readValue(space: Space, key: string, full: string, codec: Codec | undefined, counters: TierCounters): Promise<unknown> {
    const redis = this.redis
    if (redis === undefined || !redis.available) {
      counters.misses++
      return Promise.resolve(undefined)
    }
    return redis.get(full).then(
      (text) => {
        const entry = text === null ? undefined : this.#decode(space, key, full, text, codec, counters)
        if (entry !== undefined && now() < entry.e) {
          counters.hits++
          return entry.v
        }
        counters.misses++
        return undefined
      },
      (error: unknown) => {
        this.#failed(counters, error)
        counters.misses++
        return undefined
      },
    )
  }

  #decode(space: Space, local: string, key: string, text: string, codec: Codec | undefined, counters: TierCounters): Entry | undefined {
    const entry = decodeEntry(text, codec)
    if (typeof entry === 'string') {
      counters.errors++
      if (this.#corruptionsLogged.size < maxLoggedCorruptions && !this.#corruptionsLogged.has(key)) {
        this.#corruptionsLogged.add(key)
        this.log.warn({ key, reason: entry }, `cache: the Redis entry of "${key}" is ${entry}; treated as a miss`)
      }
      return undefined
    }
    // A fresh entry is kept in memory, so that the next read of the key is a memory hit.
    if (now() < entry.e) this.memory.write(space, local, entry, 2 * (text.length + key.length))
    return entry
  }

  /** Writes an entry to Redis and tells the other instances to drop their copy. */
  async writeRemote(key: string, entry: Entry, text: string, coded: boolean, counters: TierCounters): Promise<void> {
    const redis = this.redis
    if (redis === undefined || !redis.available) return
    try {
      await redis.set(key, encodeEntry(entry, text, coded), entry.g - Date.now(), entry.t)
      counters.sets++
      await redis.publish({ k: [key] })
    } catch (error) {
      this.#failed(counters, error)
    }
  }

  /** Runs a Redis change and announces it; a failure is counted, never thrown. */
  async changeRemote(change: (redis: RedisTier) => Promise<void>, message: Omit<Invalidation, 'i'>, counters: TierCounters): Promise<void> {
    const redis = this.redis
    if (redis === undefined || !redis.available) return
    try {
      await change(redis)
      await redis.publish(message)
    } catch (error) {
      this.#failed(counters, error)
    }
  }

  /** Resolves when another instance announces a change of `key`, or after `ms`. */
  waitForChange(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(key)
      if (waiters === undefined) this.#waiters.set(key, (waiters = new Set()))
      const done = () => {
        clearTimeout(timer)
        waiters.delete(done)
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key)
        resolve()
      }
      const timer = setTimeout(done, ms)
      waiters.add(done)
    })
  }

  async close(): Promise<void> {
    this.closed = true
    await this.redis?.close()
    this.memory.clear()
  }

  #failed(counters: TierCounters, error: unknown): void {
    counters.errors++
    // A failure while connected is worth a line; while down, the outage was already logged.
    if (this.redis?.available) this.log.warn({ reason: describeError(error) }, `cache: a Redis command failed (${describeError(error)}); answered from the memory tier`)
  }

  #invalidated(message: Invalidation): void {
    if (message.k) {
      for (const key of message.k) {
        this.memory.delete(key)
        const waiters = this.#waiters.get(key)
        if (waiters) for (const wake of [...waiters]) wake()
      }
    }
    if (message.n !== undefined) this.memory.deleteNamespace(message.n)
    if (message.t) this.memory.deleteTags(message.t)
  }

  /** The namespace a full key belongs to. */
  static namespaceOf = namespaceOf
}
