/**
 * @plinth/cache: a typed cache with a memory tier (LRU bounded by entries and bytes) and, with
 * CACHE_URL=redis://..., Redis behind it. TTL, grace, negative caching, namespaces, tags,
 * single flight per instance and a lease across instances; invalidations reach every instance
 * through Redis pub/sub; an unreachable Redis degrades the cache to memory until it is back.
 */
export { Cache, createCache } from './cache.js'
export { assertFaithfulJson, type Codec } from './codec.js'
export type { CacheHealth, CacheOptions, GetOrSetOptions, NamespaceOptions, SetOptions } from './contract.js'
export { cacheErrors } from './errors.js'
export type { TierCounters, TierName } from './stats.js'
export { AppCache, appCache, cacheUrl, publishCacheMetrics } from './component.js'
