/**
 * One suite for every tier set-up: memory alone, memory in front of Redis. Each test makes its
 * own cache (fresh keys), and `reopen` gives a second cache on the same backing store when the
 * set-up has one (another instance, or the same process after a restart).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { cacheErrors, type Cache, type CacheOptions, type Codec } from '@plinth/cache'

export interface CacheSetup {
  /** A new, empty cache (connected) with these options. */
  open(options?: CacheOptions): Promise<Cache>
  /** For shared set-ups: another cache over the same store as the last `open`. */
  reopen?(options?: CacheOptions): Promise<Cache>
}

const dates: Codec<{ at: Date }> = {
  encode: (value) => JSON.stringify({ at: value.at.toISOString() }),
  decode: (text) => ({ at: new Date((JSON.parse(text) as { at: string }).at) }),
}

export function cacheConformance(name: string, setup: CacheSetup): void {
  describe(`cache conformance: ${name}`, () => {
    const opened: Cache[] = []
    const open = async (options?: CacheOptions) => {
      const cache = await setup.open(options)
      opened.push(cache)
      return cache
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((cache) => cache.close()))
    })

    it('gives back what was set, and undefined for what was not', async () => {
      const cache = await open()
      expect(await cache.get('missing')).toBeUndefined()
      await cache.set('user:1', { id: 1, name: 'Ada', tags: ['a', 'b'], nested: { ok: true, none: null } })
      expect(await cache.get('user:1')).toEqual({ id: 1, name: 'Ada', tags: ['a', 'b'], nested: { ok: true, none: null } })
      expect(await cache.has('user:1')).toBe(true)
      expect(await cache.has('missing')).toBe(false)
    })

    it('forgets a deleted key', async () => {
      const cache = await open()
      await cache.set('k', 1)
      await cache.delete('k')
      expect(await cache.get('k')).toBeUndefined()
      expect(await cache.has('k')).toBe(false)
    })

    it('expires a value after its TTL', async () => {
      const cache = await open()
      await cache.set('short', 'soon gone', { ttl: 30 })
      await cache.set('long', 'still here', { ttl: 60_000 })
      await sleep(80)
      expect(await cache.get('short')).toBeUndefined()
      expect(await cache.get('long')).toBe('still here')
    })

    it('keeps namespaces apart, and clear() empties only its own', async () => {
      const cache = await open()
      const users = cache.namespace('users')
      const teams = cache.namespace('teams')
      await users.set('1', 'user one')
      await teams.set('1', 'team one')
      expect(await users.get('1')).toBe('user one')
      expect(await teams.get('1')).toBe('team one')
      await users.clear()
      expect(await users.get('1')).toBeUndefined()
      expect(await teams.get('1')).toBe('team one')
    })

    it('invalidates by tag every entry carrying it, and only those', async () => {
      const cache = await open()
      await cache.set('a', 'A', { tags: ['team:7'] })
      await cache.set('b', 'B', { tags: ['team:7', 'team:8'] })
      await cache.set('c', 'C', { tags: ['team:8'] })
      await cache.invalidateTags(['team:7'])
      expect(await cache.get('a')).toBeUndefined()
      expect(await cache.get('b')).toBeUndefined()
      expect(await cache.get('c')).toBe('C')
    })

    it('runs the factory once for concurrent getOrSet calls of one key', async () => {
      const cache = await open()
      let runs = 0
      const factory = async () => {
        runs++
        await sleep(20)
        return { computed: true }
      }
      const results = await Promise.all(Array.from({ length: 25 }, () => cache.getOrSet('slow', factory)))
      expect(runs).toBe(1)
      expect(results.every((result) => result.computed)).toBe(true)
      expect(await cache.getOrSet('slow', factory)).toEqual({ computed: true })
      expect(runs).toBe(1)
    })

    it('passes a factory error on when there is nothing to serve instead, and caches nothing', async () => {
      const cache = await open()
      await expect(cache.getOrSet('broken', () => Promise.reject(new Error('backend down')))).rejects.toThrow('backend down')
      expect(await cache.getOrSet('broken', () => 'fixed')).toBe('fixed')
    })

    it('caches "not found" (a factory returning undefined) for its own shorter TTL', async () => {
      const cache = await open()
      let runs = 0
      const lookup = () => {
        runs++
        return undefined
      }
      expect(await cache.getOrSet('ghost', lookup, { ttl: 60_000, negativeTtl: 40 })).toBeUndefined()
      expect(await cache.getOrSet('ghost', lookup, { ttl: 60_000, negativeTtl: 40 })).toBeUndefined()
      expect(runs).toBe(1)
      expect(await cache.has('ghost')).toBe(false)
      await sleep(90)
      expect(await cache.getOrSet('ghost', lookup, { ttl: 60_000, negativeTtl: 40 })).toBeUndefined()
      expect(runs).toBe(2)
    })

    it('serves an expired value within its grace when the refresh fails, and fails past it', async () => {
      const cache = await open()
      await cache.set('price', 42, { ttl: 20, grace: 60_000 })
      await cache.set('rate', 7, { ttl: 20 })
      await sleep(60)
      expect(await cache.getOrSet('price', () => Promise.reject(new Error('pricing down')))).toBe(42)
      await expect(cache.getOrSet('rate', () => Promise.reject(new Error('rates down')))).rejects.toThrow('rates down')
      // The stale value is not fresh: get() does not return it.
      expect(await cache.get('price')).toBeUndefined()
    })

    it('serves the stale value when the factory outlasts its timeout, and stores the late result', async () => {
      const cache = await open()
      await cache.set('feed', 'old', { ttl: 20, grace: 60_000 })
      await sleep(60)
      let finish!: (value: string) => void
      const late = new Promise<string>((resolve) => (finish = resolve))
      expect(await cache.getOrSet('feed', () => late, { timeout: 10, grace: 60_000 })).toBe('old')
      finish('new')
      await expect.poll(() => cache.get('feed')).toBe('new')
    })

    it('refuses values JSON would change, naming where in the value', async () => {
      const cache = await open()
      const cases: Array<[unknown, string]> = [
        [{ at: new Date(0) }, '$.at is a Date'],
        [new Map([['a', 1]]), '$ is a Map'],
        [{ big: 10n }, '$.big is a BigInt'],
        [{ gone: undefined }, '$.gone is undefined'],
        [[1, Number.NaN], '$[1] is NaN'],
        [{ f: () => 1 }, '$.f is a function'],
      ]
      for (const [value, message] of cases) {
        const error = await cache.set('bad', value).then(() => undefined, (thrown: unknown) => thrown)
        expect(cacheErrors.is(error, 'PLINTH_ERR_CACHE_UNSERIALISABLE'), String(error)).toBe(true)
        expect(String(error)).toContain(message)
      }
      const circular: Record<string, unknown> = {}
      circular.self = circular
      await expect(cache.set('bad', circular)).rejects.toThrow('$.self is a circular reference')
      await expect(cache.set('bad', undefined)).rejects.toThrow('use delete()')
      await expect(cache.getOrSet('bad', () => ({ at: new Date() }))).rejects.toThrow('$.at is a Date')
      expect(await cache.get('bad')).toBeUndefined()
    })

    it('round-trips what JSON cannot carry through a declared codec', async () => {
      const cache = await open()
      const events = cache.namespace('events', { codec: dates })
      await events.set('e1', { at: new Date('2026-01-02T03:04:05.000Z') })
      const back = await events.get<{ at: Date }>('e1')
      expect(back?.at).toBeInstanceOf(Date)
      expect(back?.at.toISOString()).toBe('2026-01-02T03:04:05.000Z')
      if (setup.reopen) {
        const other = (await setup.reopen()).namespace('events', { codec: dates })
        opened.push(other)
        const remote = await other.get<{ at: Date }>('e1')
        expect(remote?.at).toBeInstanceOf(Date)
        expect(remote?.at.getTime()).toBe(Date.parse('2026-01-02T03:04:05.000Z'))
      }
    })

    it('rejects bad keys, namespaces, tags and durations at the call', async () => {
      const cache = await open()
      const code = async (call: () => unknown) => {
        try {
          await call()
        } catch (error) {
          return (error as { code?: string }).code
        }
        return 'no error'
      }
      expect(await code(() => cache.get(''))).toBe('PLINTH_ERR_CACHE_INVALID_KEY')
      expect(await code(() => cache.set('x'.repeat(513), 1))).toBe('PLINTH_ERR_CACHE_INVALID_KEY')
      expect(await code(() => cache.get(42 as unknown as string))).toBe('PLINTH_ERR_CACHE_INVALID_KEY')
      expect(await code(() => cache.namespace(''))).toBe('PLINTH_ERR_CACHE_INVALID_NAMESPACE')
      expect(await code(() => cache.namespace('a:b'))).toBe('PLINTH_ERR_CACHE_INVALID_NAMESPACE')
      expect(await code(() => cache.namespace('n'.repeat(65)))).toBe('PLINTH_ERR_CACHE_INVALID_NAMESPACE')
      expect(await code(() => cache.set('k', 1, { ttl: -1 }))).toBe('PLINTH_ERR_CACHE_INVALID_TTL')
      expect(await code(() => cache.set('k', 1, { ttl: Number.NaN }))).toBe('PLINTH_ERR_CACHE_INVALID_TTL')
      expect(await code(() => cache.set('k', 1, { ttl: '5s' as unknown as number }))).toBe('PLINTH_ERR_CACHE_INVALID_TTL')
      expect(await code(() => cache.getOrSet('k', () => 1, { grace: Infinity }))).toBe('PLINTH_ERR_CACHE_INVALID_TTL')
      expect(await code(() => cache.namespace('n', { ttl: -5 }))).toBe('PLINTH_ERR_CACHE_INVALID_TTL')
      expect(await code(() => cache.set('k', 1, { tags: [''] }))).toBe('PLINTH_ERR_CACHE_INVALID_TAG')
      expect(await code(() => cache.invalidateTags('t' as unknown as string[]))).toBe('PLINTH_ERR_CACHE_INVALID_TAG')
      await expect(cache.set('', 1)).rejects.toThrow('cache key in namespace "default" is empty')
      await expect(cache.set('k', 1, { ttl: -1 })).rejects.toThrow('ttl for "default:k" is -1')
      expect(await cache.get('k')).toBeUndefined()
    })

    it('fails every call after close()', async () => {
      const cache = await setup.open()
      await cache.close()
      await expect(async () => cache.get('k')).rejects.toThrow('the cache was closed')
    })

    it('counts hits, misses and sets per namespace', async () => {
      const cache = await open()
      const users = cache.namespace('counted')
      await users.get('absent')
      await users.set('present', 1)
      await users.get('present')
      await users.getOrSet('present', () => 2)
      const memory = cache.stats().counted?.memory
      expect(memory).toMatchObject({ hits: 2, misses: 1, sets: 1 })
    })
  })
}
