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

  it('keeps one bound and one recency order over every namespace', async () => {
    const cache = createCache({ maxEntries: 3 })
    const users = cache.namespace('users')
    const teams = cache.namespace('teams')
    await users.set('1', 'u1')
    await teams.set('1', 't1')
    await users.set('2', 'u2')
    expect(users.peek('1')).toBe('u1') // users:1 is now the most recently used; teams:1 the least
    await teams.set('2', 't2')
    expect(await teams.get('1')).toBeUndefined()
    expect([await users.get('1'), await users.get('2'), await teams.get('2')]).toEqual(['u1', 'u2', 't2'])
    expect(cache.health().details.entries).toBe(3)
    expect(cache.stats().teams?.memory?.evictions).toBe(1)
    expect(cache.stats().users?.memory?.evictions).toBe(0)
    await cache.close()
  })

  it('forgets the tags of evicted and replaced entries, and keeps no entry larger than maxBytes', async () => {
    const cache = createCache({ maxEntries: 2, maxBytes: 10_000 })
    await cache.set('a', 'a', { tags: ['t'] })
    await cache.set('a', 'a2', { tags: ['u'] }) // replaced: no longer tagged t
    await cache.set('b', 'b', { tags: ['t'] })
    await cache.invalidateTags(['t'])
    expect([await cache.get('a'), await cache.get('b')]).toEqual(['a2', undefined])
    await cache.set('c', 'c', { tags: ['u'] })
    await cache.set('d', 'd') // evicts a (tag u), keeps c
    await cache.invalidateTags(['u'])
    expect([await cache.get('c'), await cache.get('d')]).toEqual([undefined, 'd'])
    await cache.set('d', 'x'.repeat(10_000)) // about 20 kB: not kept, and the old value is gone too
    expect(await cache.get('d')).toBeUndefined()
    expect(cache.health().details).toMatchObject({ entries: 0, bytes: 0 })
    await cache.close()
  })

  it('peek reads the memory tier without waiting, and counts like get', async () => {
    const cache = createCache()
    await cache.set('a', { n: 1 }, { ttl: 50 })
    expect(cache.peek('a')).toEqual({ n: 1 })
    expect(cache.peek('missing')).toBeUndefined()
    expect(cache.stats().default?.memory).toMatchObject({ hits: 1, misses: 1 })
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(cache.peek('a')).toBeUndefined() // expired
    expect(() => cache.peek('')).toThrow('is empty')
    await cache.close()
    expect(() => cache.peek('a')).toThrow('was closed')
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
