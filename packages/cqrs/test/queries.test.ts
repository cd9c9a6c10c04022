import { describe, expect, it } from 'vitest'
import { component, createApp, isPlinthError, provide, statusOf } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Database, database, defineMigrations } from '@plinth/db'
import { z } from 'zod'
import { EventStore, Projections, QueryCacheComponent, eventStore, handleQuery, projection, query } from '../src/index.js'

const names = projection({
  name: 'names',
  types: ['named', 'poison'],
  handle: async (event, db) => {
    if (event.type === 'poison') throw new Error('cannot project this')
    await db.insertInto('names').values({ id: event.stream, name: (event.data as { name: string }).name }).onConflict((oc) => oc.column('id').doUpdateSet({ name: (event.data as { name: string }).name })).execute()
  },
})
const schema = defineMigrations('names', { '001': { up: (db) => db.schema.createTable('names').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('name', 'text').execute() } })

const NameOf = query('name-of').of<{ id: string }, string | null>({ schema: z.object({ id: z.string().min(1) }), ttl: 60_000, staleOn: ['named'], tags: ({ id }) => [`device:${id}`], projection: 'names' })
let reads = 0
const nameOf = handleQuery(NameOf, {
  deps: { db: Database },
  handle: async ({ id }, { db }) => {
    reads++
    return ((await db.kysely.selectFrom('names').select('name').where('id', '=', id).executeTakeFirst())?.name as string | undefined) ?? null
  },
})
const reader = component('reader', { deps: { nameOf: NameOf, cache: QueryCacheComponent }, create: (deps) => deps })

const build = () => createApp({ name: 'q', logging: { level: 'silent' }, components: [database(), ...eventStore(), schema, provide(Projections, { value: names }), nameOf, reader] })

describe('the query bus', () => {
  it('caches a result per input for its TTL, drops it when a stale-making event is appended or its tag is invalidated, and counts hits and misses', async () => {
    const t = await startTestApp(build())
    try {
      const { nameOf: ask, cache } = await t.resolve(reader)
      const store = await t.resolve(EventStore)
      const { position } = await store.append('d-1', [{ type: 'named', data: { name: 'kitchen' } }])
      reads = 0
      expect(await ask({ id: 'd-1' }, { after: position })).toBe('kitchen')
      expect(await ask({ id: 'd-1' })).toBe('kitchen')
      expect(reads).toBe(1)
      expect([cache.cache.hits.get('name-of'), cache.cache.misses.get('name-of')]).toEqual([1, 1])
      const renamed = await store.append('d-1', [{ type: 'named', data: { name: 'pantry' } }])
      // Read-your-writes: the cached 'kitchen' predates the position, so the query waits for the projection.
      expect(await ask({ id: 'd-1' }, { after: renamed.position })).toBe('pantry')
      expect(reads).toBe(2)
      expect(cache.cache.invalidateTag('device:d-1')).toBe(1)
      expect(await ask({ id: 'd-1' })).toBe('pantry')
      expect(reads).toBe(3)
      await store.append('d-2', [{ type: 'named', data: { name: 'hall' } }])
      await expect.poll(async () => (await ask({ id: 'd-1' }), reads), { timeout: 3_000 }).toBe(4)
    } finally {
      await t.stop()
    }
  })

  it('answers 503 PLINTH_ERR_QUERY_STALE rather than a stale read model when the projection cannot reach the position in time', async () => {
    const t = await startTestApp(build())
    try {
      const { nameOf: ask } = await t.resolve(reader)
      const store = await t.resolve(EventStore)
      const { position } = await store.append('d-9', [{ type: 'poison', data: {} }])
      const error = await ask({ id: 'd-9' }, { after: position, timeout: 200 }).catch((e: unknown) => e)
      expect(isPlinthError(error, 'PLINTH_ERR_QUERY_STALE')).toBe(true)
      expect(statusOf(error)).toBe(503)
      expect((error as Error).message).toBe(`query "name-of" needs projection "names" at position ${position}, and it did not get there within 200 ms`)
    } finally {
      await t.stop()
    }
  })

  it('refuses invalid input naming the field, and a TTL that is not a positive number at declaration', async () => {
    const t = await startTestApp(build())
    try {
      const error = await (await t.resolve(reader)).nameOf({ id: '' }).catch((e: unknown) => e)
      expect(isPlinthError(error, 'PLINTH_ERR_QUERY_INVALID')).toBe(true)
      expect((error as Error).message).toMatch(/^query "name-of" is invalid: id: /)
    } finally {
      await t.stop()
    }
    expect(() => query('bad-ttl').of({ ttl: -5 })).toThrow(/query "bad-ttl" has ttl -5; give a number of milliseconds above 0/)
  })
})
