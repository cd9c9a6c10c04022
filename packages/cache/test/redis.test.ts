import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { probeService } from '@plinth/core/testing'
import { createCache, type Cache, type CacheOptions } from '@plinth/cache'
import { cacheConformance } from './conformance.js'
import { OwnRedis } from './redis-server.js'

const redisUrl = 'redis://127.0.0.1:6379'
const service = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
// Every run writes under a prefix of its own, removed at the end.
const runPrefix = `plinth-test:cache:${randomUUID().slice(0, 8)}`

async function dropPrefix(prefix: string): Promise<void> {
  const admin = new Redis(redisUrl)
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await admin.unlink(...keys)
    cursor = next
  } while (cursor !== '0')
  await admin.quit()
}

describe.skipIf(!service.available)(service.title('on Redis'), () => {
  afterAll(() => dropPrefix(runPrefix))

  let lastPrefix = ''
  const openOn = async (prefix: string, options?: CacheOptions) => {
    const cache = createCache({ url: redisUrl, prefix, ...options })
    await cache.connect()
    return cache
  }
  cacheConformance('memory in front of Redis', {
    open: (options) => openOn((lastPrefix = `${runPrefix}:${randomUUID().slice(0, 8)}`), options),
    reopen: (options) => openOn(lastPrefix, options),
  })

  describe('across instances', () => {
    let a: Cache
    let b: Cache
    const warnings: string[] = []
    beforeAll(async () => {
      const prefix = `${runPrefix}:${randomUUID().slice(0, 8)}`
      a = await openOn(prefix)
      b = await openOn(prefix, { log: { info: () => undefined, warn: (_fields, message) => warnings.push(message) } })
      return async () => {
        await a.close()
        await b.close()
      }
    })

    it('serves what one instance set from the other', async () => {
      await a.set('shared', { from: 'a' })
      expect(await b.get('shared')).toEqual({ from: 'a' })
      expect(b.stats().default?.redis?.hits).toBeGreaterThanOrEqual(1)
    })

    it('clears the memory tier of every instance on set, delete, clear and tag invalidation', async () => {
      await a.set('k', 'v1', { tags: ['t'] })
      expect(await b.get('k')).toBe('v1') // now in b's memory tier
      await a.set('k', 'v2', { tags: ['t'] })
      await expect.poll(() => b.get('k')).toBe('v2')
      await a.delete('k')
      await expect.poll(() => b.get('k')).toBeUndefined()

      await a.set('tagged', 'x', { tags: ['team:1'] })
      expect(await b.get('tagged')).toBe('x')
      await a.invalidateTags(['team:1'])
      await expect.poll(() => b.get('tagged')).toBeUndefined()

      const users = a.namespace('users')
      await users.set('1', 'one')
      expect(await b.namespace('users').get('1')).toBe('one')
      await users.clear()
      await expect.poll(() => b.namespace('users').get('1')).toBeUndefined()
    })

    it('peek answers from memory only: what only Redis holds reads as undefined until a get brings it in', async () => {
      await a.set('peeked', 'v1')
      expect(b.peek('peeked')).toBeUndefined()
      expect(await b.get('peeked')).toBe('v1')
      expect(b.peek('peeked')).toBe('v1')
      await a.set('peeked', 'v2') // b's copy is dropped by the invalidation
      await expect.poll(() => b.peek('peeked')).toBeUndefined()
    })

    it('runs a factory once across instances: the others wait for its result', async () => {
      let runs = 0
      const factory = async () => {
        runs++
        await sleep(100)
        return 'computed once'
      }
      const results = await Promise.all([...Array.from({ length: 10 }, () => a.getOrSet('stampede', factory)), ...Array.from({ length: 10 }, () => b.getOrSet('stampede', factory))])
      expect(runs).toBe(1)
      expect(new Set(results)).toEqual(new Set(['computed once']))
    })

    it('treats a corrupted Redis entry as a miss, logs it once and counts it', async () => {
      const raw = new Redis(redisUrl)
      const prefix = `${runPrefix}:${randomUUID().slice(0, 8)}`
      const cache = await openOn(prefix, { log: { info: () => undefined, warn: (_fields, message) => warnings.push(message) } })
      await raw.set(`${prefix}:v:default:broken`, '{not json')
      expect(await cache.get('broken')).toBeUndefined()
      expect(await cache.get('broken')).toBeUndefined()
      expect(warnings.filter((line) => line.includes('"default:broken" is not valid JSON'))).toHaveLength(1)
      expect(cache.stats().default?.redis?.errors).toBe(2)
      expect(await cache.getOrSet('broken', () => 'rebuilt')).toBe('rebuilt')
      await raw.quit()
      await cache.close()
    })
  })
})

describe('when Redis goes away', () => {
  it('degrades to the memory tier, says so in health, and recovers by itself', async () => {
    const server = await OwnRedis.start()
    const logged: string[] = []
    const fields: object[] = []
    const keep = (f: object, message: string) => void (logged.push(message), fields.push(f))
    const cache = createCache({ url: server.url, prefix: 'outage', log: { info: keep, warn: keep } })
    try {
      await cache.connect()
      expect(cache.health()).toMatchObject({ status: 'up', details: { redis: 'reachable' } })
      await cache.set('before', 'kept in memory')

      await server.stop()
      await expect.poll(() => cache.health().status).toBe('degraded')
      expect(cache.health().details).toMatchObject({ redis: 'unreachable', outages: 1 })
      // Calls go on against memory, without errors reaching the caller.
      expect(await cache.get('before')).toBe('kept in memory')
      await cache.set('during', 'memory only')
      expect(await cache.get('during')).toBe('memory only')
      expect(await cache.getOrSet('computed', () => 'still works')).toBe('still works')
      // The outage in one line with its reason; no error object, whose stack would spread it over a screen.
      const lost = logged.findIndex((line) => line.includes('Redis is unreachable'))
      expect(logged[lost]).toMatch(/Redis is unreachable \(.+\); serving from the memory tier/)
      expect(fields[lost]).not.toHaveProperty('err')

      await server.start()
      await expect.poll(() => cache.health().status, { timeout: 10_000 }).toBe('up')
      expect(logged.some((line) => line.includes('reachable again'))).toBe(true)
      await cache.set('after', 'in Redis again')
      const raw = new Redis(server.url)
      expect(await raw.get('outage:v:default:after')).toContain('in Redis again')
      await raw.quit()
    } finally {
      await cache.close()
      await server.stop()
    }
  })

  it('starts degraded when Redis is unreachable at start, and connects once it is there', async () => {
    const server = await OwnRedis.start()
    await server.stop()
    const cache = createCache({ url: server.url, prefix: 'late' })
    try {
      await cache.connect()
      expect(cache.health().status).toBe('degraded')
      expect(await cache.getOrSet('k', () => 'memory')).toBe('memory')
      await server.start()
      await expect.poll(() => cache.health().status, { timeout: 10_000 }).toBe('up')
    } finally {
      await cache.close()
      await server.stop()
    }
  })
})
