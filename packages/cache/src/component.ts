/**
 * The cache as a component: `appCache()` provides `AppCache`, on Redis when CACHE_URL (else
 * REDIS_URL) names one, in memory otherwise; it connects at start (never failing on an
 * unreachable Redis: it starts degraded), closes at stop, reports its health, and publishes its
 * counters as `app_cache_*`.
 */
import { Application, Logger, Metrics, optional, provide, token, type App, type MetricsRegistry, type Provider } from '@plinth/core'
import { createCache, type Cache } from './cache.js'
import type { CacheOptions } from './contract.js'
import { cacheProviders } from './preflight.js'

/**
 * The application's cache.
 *
 * @example
 * component('devices', {
 *   deps: { cache: AppCache, store: DeviceStore },
 *   create: ({ cache, store }) => ({ find: (id: string) => cache.getOrSet(`device:${id}`, () => store.find(id)) }),
 * })
 */
export const AppCache = token('cache').of<Cache>()

/**
 * Where the cache lives: `url` if given, else CACHE_URL, else REDIS_URL, else memory.
 *
 * @example
 * cacheUrl({}, { REDIS_URL: 'redis://cache:6379' }) // 'redis://cache:6379'
 * cacheUrl({}, {}) // 'memory://'
 */
export function cacheUrl(options: CacheOptions, env: NodeJS.ProcessEnv): string {
  return options.url ?? (env.CACHE_URL || undefined) ?? (env.REDIS_URL || undefined) ?? 'memory://'
}

/**
 * Publishes a cache's figures: the counters (`app_cache_{hits,misses,sets,evictions,errors}_total`
 * by namespace and tier) and the gauges `app_cache_entries`, `app_cache_bytes` (memory tier) and
 * `app_cache_degraded` (1 while Redis is unreachable). Returns the function that stops.
 *
 * @example
 * const stop = publishCacheMetrics(metrics, cache, 'cache')
 */
export function publishCacheMetrics(metrics: MetricsRegistry, cache: Cache, name: string): () => void {
  const counters = cache.tiers.stats.publish(metrics, name)
  const entries = metrics.gauge({ name: 'app_cache_entries', help: 'Entries in the memory tier of the cache', labelNames: ['cache'] })
  const bytes = metrics.gauge({ name: 'app_cache_bytes', help: 'Estimated bytes in the memory tier of the cache', labelNames: ['cache'] })
  const degraded = metrics.gauge({ name: 'app_cache_degraded', help: '1 while the cache serves from memory alone because Redis is unreachable', labelNames: ['cache'] })
  const off = metrics.beforeCollect(() => {
    const health = cache.health()
    entries.set({ cache: name }, health.details.entries)
    bytes.set({ cache: name }, health.details.bytes)
    degraded.set({ cache: name }, health.status === 'degraded' ? 1 : 0)
  })
  return () => {
    off()
    counters()
    for (const gauge of [entries, bytes, degraded]) gauge.remove({ cache: name })
  }
}

const deps = { app: Application, log: Logger, metrics: optional(Metrics) }

/**
 * The cache component. Options are the defaults of every namespace; the URL comes from them,
 * else CACHE_URL, else REDIS_URL, else the cache is memory alone; the Redis prefix from them,
 * else CACHE_PREFIX, else `plinth:cache`. Give a function to read them
 * from the app's configuration.
 *
 * @example
 * export const app = createApp({
 *   name: 'shop',
 *   components: [appCache({ ttl: 30_000, maxEntries: 50_000 }), metricsServer()],
 *   modules: [catalogue], // depends on AppCache
 * })
 */
export function appCache(options: CacheOptions | ((app: App) => CacheOptions) = {}): Provider<Cache, 'cache', typeof deps> {
  const unpublish = new WeakMap<Cache, () => void>()
  const provider = provide(AppCache, {
    deps,
    // Built and connected at boot, so that the first request does not pay for it and an
    // unreachable Redis shows in health from the start.
    eager: true,
    create: ({ app, log, metrics }) => {
      const settings = typeof options === 'function' ? options(app) : options
      const prefix = settings.prefix ?? (app.env.CACHE_PREFIX || undefined)
      const cache = createCache({ log, ...settings, url: cacheUrl(settings, app.env), ...(prefix ? { prefix } : {}) })
      if (metrics) unpublish.set(cache, publishCacheMetrics(metrics, cache, AppCache.name))
      return cache
    },
    start: (cache) => cache.connect(),
    stop: async (cache) => {
      unpublish.get(cache)?.()
      await cache.close()
    },
    health: (cache) => cache.health(),
  })
  cacheProviders.add(provider)
  return provider
}
