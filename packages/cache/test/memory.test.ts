import { describe, expect, it } from 'vitest'
import { cacheErrors, createCache } from '@plinth/cache'
import { cacheConformance } from './conformance.js'

cacheConformance('memory', { open: (options) => Promise.resolve(createCache(options)) })

describe('memory tier bounds', () => {
  it('keeps at most maxEntries, dropping the least recently used and counting evictions', async () => {
    const cache = createCache({ maxEntries: 3 })
    for (const key of ['a', 'b', 'c']) await cache.set(key, key)
    await cache.get('a') // a is now the most recently used
    await cache.set('d', 'd')
    expect(await cache.get('b')).toBeUndefined()
    expect(await cache.get('a')).toBe('a')
    expect(await cache.get('d')).toBe('d')
    expect(cache.stats().default?.memory?.evictions).toBe(1)
    await cache.close()
  })

  it('keeps at most maxBytes, as estimated from the values', async () => {
    const cache = createCache({ maxBytes: 10_000 })
    const big = 'x'.repeat(2_000) // about 4 kB as UTF-16
    for (const key of ['a', 'b', 'c', 'd']) await cache.set(key, big)
    expect(cache.health().details.bytes).toBeLessThanOrEqual(10_000)
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('d')).toBe(big)
    expect(cache.stats().default?.memory?.evictions).toBeGreaterThanOrEqual(2)
    await cache.close()
  })

  it('reports up with the memory tier alone', () => {
    const cache = createCache()
    expect(cache.health()).toMatchObject({ status: 'up', details: { tier: 'memory' } })
  })

  it('rejects options it cannot use', () => {
    expect(() => createCache({ url: 'memcached://x' })).toThrow('is neither memory:// nor redis://')
    expect(() => createCache({ maxEntries: 0 })).toThrow('maxEntries is 0')
    const error = (() => {
      try {
        createCache({ ttl: -1 })
      } catch (thrown) {
        return thrown
      }
    })()
    expect(cacheErrors.is(error, 'PLINTH_ERR_CACHE_INVALID_TTL')).toBe(true)
  })
})
