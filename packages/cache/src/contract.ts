/**
 * The options of a cache and of its calls. Durations are milliseconds; a namespace's options
 * are the defaults of every call in it.
 */
import type { Codec } from './codec.js'

/** Defaults for the calls of one namespace. */
export interface NamespaceOptions {
  /** How long a value stays fresh. Default 60 000. */
  ttl?: number
  /** How long past its TTL a value may be served when its refresh fails or is slow. Default 0. */
  grace?: number
  /** How long a "not found" (a factory returning undefined) stays cached. Default min(ttl, 5 000); 0 caches none. */
  negativeTtl?: number
  /**
   * With a stale value at hand, how long getOrSet waits for its factory before serving the
   * stale value (the factory goes on and its result is stored when it lands). Default: no limit.
   */
  timeout?: number
  /** How long one instance holds the Redis lease on a key while its factory runs. Default 5 000. */
  lease?: number
  /** How values become text; default JSON, refusing what JSON would change. */
  codec?: Codec
}

export interface SetOptions {
  ttl?: number
  grace?: number
  /** Tags to invalidate the entry by, with `invalidateTags`. */
  tags?: readonly string[]
}

export interface GetOrSetOptions extends SetOptions {
  negativeTtl?: number
  timeout?: number
}

/** The options of `createCache`. */
export interface CacheOptions extends NamespaceOptions {
  /** `memory://` (the default) or `redis://...` / `rediss://...`: memory in front of Redis. */
  url?: string
  /** An ioredis client for the Redis tier, instead of a URL (the cache does not close it). */
  redis?: import('ioredis').Redis
  /** Prefix of every Redis key and of the invalidation channel. Default `plinth:cache`. */
  prefix?: string
  /** Most entries in the memory tier. Default 10 000. */
  maxEntries?: number
  /** Most bytes in the memory tier, as estimated from the values. Default 64 MiB. */
  maxBytes?: number
  /** Where the cache logs Redis outages and corrupted entries. Default: nowhere. */
  log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void }
}

/** The state of the cache's tiers, for health and for callers that want to know. */
export interface CacheHealth {
  status: 'up' | 'degraded'
  details: {
    tier: 'memory' | 'memory+redis'
    entries: number
    bytes: number
    redis?: 'reachable' | 'unreachable'
    outages?: number
    error?: string
  }
}
