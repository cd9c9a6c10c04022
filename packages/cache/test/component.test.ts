import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Metrics, component, createApp } from '@plinth/core'
import { probeService, startTestApp } from '@plinth/core/testing'
import { AppCache, appCache, cacheUrl } from '@plinth/cache'

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })

// A component that uses the cache as a module would.
const greetings = component('greetings', {
  deps: { cache: AppCache },
  create: ({ cache }) => ({ greet: (name: string) => cache.namespace('greetings').getOrSet(name, () => `hello ${name}`) }),
})

describe('the cache component', () => {
  it('chooses its URL: the option, else CACHE_URL, else REDIS_URL, else memory', () => {
    expect(cacheUrl({ url: 'redis://a' }, { CACHE_URL: 'redis://b', REDIS_URL: 'redis://c' })).toBe('redis://a')
    expect(cacheUrl({}, { CACHE_URL: 'redis://b', REDIS_URL: 'redis://c' })).toBe('redis://b')
    expect(cacheUrl({}, { REDIS_URL: 'redis://c' })).toBe('redis://c')
    expect(cacheUrl({}, { CACHE_URL: '' })).toBe('memory://')
  })

  it('publishes hits and misses per namespace and tier as app_cache_*, and reports up', async () => {
    await using t = await startTestApp(createApp({ name: 'cached', components: [appCache(), greetings], logging: { level: 'silent' } }), { env: {} })
    const service = t.get(greetings)
    await service.greet('ada')
    await service.greet('ada')
    await service.greet('ada')
    const { body: text } = await (await t.resolve(Metrics)).render()
    expect(text).toContain('app_cache_hits_total{cache="cache",namespace="greetings",tier="memory"} 2')
    expect(text).toContain('app_cache_misses_total{cache="cache",namespace="greetings",tier="memory"} 1')
    expect(text).toContain('app_cache_sets_total{cache="cache",namespace="greetings",tier="memory"} 1')
    expect(text).toContain('app_cache_degraded{cache="cache"} 0')
    expect(t.get(AppCache).health()).toMatchObject({ status: 'up', details: { tier: 'memory' } })
  })

  it('fails at start with a URL it cannot use', async () => {
    await expect(startTestApp(createApp({ name: 'bad', components: [appCache(), greetings], logging: { level: 'silent' } }), { env: { CACHE_URL: 'memcached://x' } })).rejects.toThrow(
      /neither memory:\/\/ nor redis:\/\//,
    )
  })

  it.skipIf(!redis.available)(redis.title('puts Redis behind memory when REDIS_URL is set'), async () => {
    const prefix = `plinth-test:cache-component:${randomUUID().slice(0, 8)}`
    await using t = await startTestApp(createApp({ name: 'cached', components: [appCache({ prefix }), greetings], logging: { level: 'silent' } }), { env: { REDIS_URL: 'redis://127.0.0.1:6379' } })
    expect(await t.get(greetings).greet('grace')).toBe('hello grace')
    expect(t.get(AppCache).health()).toMatchObject({ status: 'up', details: { tier: 'memory+redis', redis: 'reachable' } })
    await t.get(AppCache).namespace('greetings').clear()
  })
})
