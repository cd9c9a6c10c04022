/**
 * The cache's preflight checks: Redis answers (and how fast), and its eviction policy suits a
 * cache. A cache in process memory only is reported as such; in production it warns, because
 * instances then neither share entries nor hear each other's invalidations.
 */
import { definePreflight, type AnyProvider, type PreflightCheck, type PreflightContext, type Token } from '@plinth/core'
import type { Cache } from './cache.js'

/** The providers appCache() made. */
export const cacheProviders = new WeakSet<AnyProvider>()

/** A round trip slower than this (ms) is a warning: every cache read on Redis pays it. */
const SLOW = 20

function checksFor(target: Token<unknown>): PreflightCheck[] {
  let inspected: ReturnType<typeof inspect> | undefined
  const inspect = async (context: PreflightContext) => {
    const cache = (await context.resolve(target)) as Cache
    context.onCleanup(() => cache.close())
    const redis = cache.tiers.redis
    return { redis, facts: redis ? await redis.inspect() : undefined }
  }
  const once = (context: PreflightContext) => (inspected ??= inspect(context))
  return [
    {
      category: 'cache',
      name: 'Redis answers',
      run: async (context) => {
        const inspected = await once(context).catch((error: unknown) => error as Error)
        if (inspected instanceof Error) return { status: 'fail', found: inspected.message, fix: 'start Redis, or correct CACHE_URL / REDIS_URL (host, port, password)' }
        const { facts } = inspected
        if (!facts) {
          return context.production
            ? { status: 'warn', found: 'memory only: instances share no entries and no invalidations', fix: 'set CACHE_URL or REDIS_URL to a Redis every instance reaches' }
            : { status: 'pass', found: 'memory only (no CACHE_URL or REDIS_URL)' }
        }
        const found = `Redis ${facts.version ?? ''} answered PING in ${facts.latency.toFixed(1)} ms`.replace('  ', ' ')
        return facts.latency > SLOW ? { status: 'warn', found, fix: 'run Redis closer to the service (same zone) or find what loads it: every cache read pays this round trip' } : { status: 'pass', found }
      },
    },
    {
      category: 'cache',
      name: 'eviction policy',
      run: async (context) => {
        const { facts } = await once(context)
        if (!facts) return { status: 'pass', found: 'memory tier: least recently used, bounded by entries and bytes' }
        if (facts.policy === undefined) return { status: 'pass', found: 'CONFIG unavailable (managed Redis): policy not readable' }
        const limit = facts.maxmemory ? `maxmemory ${Math.round(facts.maxmemory / 1024 / 1024)} MiB` : 'no maxmemory'
        if (facts.policy === 'noeviction') {
          return { status: 'warn', found: `noeviction, ${limit}: cache writes fail once memory is full`, fix: 'give the cache a Redis of its own with maxmemory-policy allkeys-lru (a Redis holding job queues must keep noeviction)' }
        }
        if (!facts.maxmemory) return { status: 'warn', found: `${facts.policy}, ${limit}: Redis grows until the host runs out of memory`, fix: 'set maxmemory so that the policy has a limit to evict at' }
        return { status: 'pass', found: `${facts.policy}, ${limit}` }
      },
    },
  ]
}

definePreflight(({ providers }) => providers.filter((p) => cacheProviders.has(p)).flatMap((p) => checksFor(p.provides as Token<unknown>)))
