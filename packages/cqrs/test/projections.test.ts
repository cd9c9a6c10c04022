import { afterEach, describe, expect, it } from 'vitest'
import { isPlinthError } from '@plinth/core'
import type { Kysely } from 'kysely'
import { projection, resetProjection, runProjection, subscribe, type SqlEventStore } from '../src/index.js'
import { postgres, postgresHarness, sqliteHarness, type SqlHarness } from './harness.js'

const counts = projection({
  name: 'counts',
  types: ['counted'],
  async handle(event, db) {
    const { key } = event.data as { key: string }
    await db.insertInto('counts').values({ key, n: 1 }).onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ n: eb('counts.n', '+', 1) }))).execute()
  },
  reset: (db) => db.deleteFrom('counts').execute().then(() => undefined),
})

async function countsTable(db: Kysely<any>): Promise<Record<string, number>> {
  await db.schema.createTable('counts').ifNotExists().addColumn('key', 'text', (c) => c.primaryKey()).addColumn('n', 'integer', (c) => c.notNull()).execute()
  const rows = await db.selectFrom('counts').selectAll().orderBy('key').execute()
  return Object.fromEntries(rows.map((row) => [row.key as string, Number(row.n)]))
}

for (const [name, makeHarness, enabled] of [['SQLite', sqliteHarness, true], [postgres.title('PostgreSQL'), postgresHarness, postgres.available]] as const) {
  describe.skipIf(!enabled)(`${name}: subscriptions and projections`, () => {
    let harness: SqlHarness
    const open = async (): Promise<SqlEventStore> => {
      harness ??= makeHarness()
      return harness.open()
    }
    afterEach(async () => {
      await harness?.dispose()
      harness = undefined as unknown as SqlHarness
    })

    it('resumes a subscription from its durable checkpoint after a restart, handling each event once', async () => {
      const store = await open()
      await store.append('s', [{ type: 'a', data: 1 }, { type: 'a', data: 2 }])
      const handled: unknown[] = []
      const first = subscribe(store, { name: 'resumer', handle: (e) => void handled.push(e.data) })
      first.start()
      await first.caughtUp(await store.headPosition())
      await first.stop()
      const { position } = await store.append('s', [{ type: 'a', data: 3 }])
      const second = subscribe(store, { name: 'resumer', handle: (e) => void handled.push(e.data) })
      second.start()
      await second.caughtUp(position)
      await second.stop()
      expect(handled).toEqual([1, 2, 3])
    })

    it('starts a new subscription at the end when asked, and wakes on appends without waiting for its poll', async () => {
      const store = await open()
      await store.append('s', [{ type: 'old', data: 0 }])
      const handled: string[] = []
      const sub = subscribe(store, { name: 'newcomer', from: 'end', pollInterval: 60_000, handle: (e) => void handled.push(e.type) })
      sub.start()
      await new Promise((r) => setTimeout(r, 50))
      const { position } = await store.append('s', [{ type: 'new', data: 1 }])
      await sub.caughtUp(position, 2_000)
      await sub.stop()
      expect(handled).toEqual(['new'])
    })

    it('retries a failing handler without skipping the event, reports it, and goes on once it succeeds', async () => {
      const store = await open()
      const { position } = await store.append('s', [{ type: 'ok', data: 1 }, { type: 'poison', data: 2 }, { type: 'ok', data: 3 }])
      let healed = false
      const handled: unknown[] = []
      const errors: string[] = []
      const sub = subscribe(store, {
        name: 'fragile',
        handle: (e) => {
          if (e.type === 'poison' && !healed) throw new Error('not yet')
          handled.push(e.data)
        },
        onError: (error) => errors.push((error as Error).message),
      })
      sub.start()
      await expect.poll(() => sub.status().failing?.type, { timeout: 3_000 }).toBe('poison')
      expect(handled).toEqual([1])
      expect(await store.readCheckpoint('fragile')).toBe(position - 2)
      const timedOut = await sub.caughtUp(position, 50).catch((error: unknown) => error)
      expect(isPlinthError(timedOut, 'PLINTH_ERR_EVENTS_SUBSCRIPTION')).toBe(true)
      healed = true
      await sub.caughtUp(position, 5_000)
      await sub.stop()
      expect(handled).toEqual([1, 2, 3])
      expect(errors[0]).toBe('not yet')
      expect(sub.status().failing).toBeUndefined()
    })

    it('writes a projection page and its checkpoint in one transaction: a failure leaves neither', async () => {
      const store = await open()
      await countsTable(store.kysely)
      const { position } = await store.append('s', [{ type: 'counted', data: { key: 'a' } }, { type: 'counted', data: { key: 'boom' } }])
      const fragile = projection({ ...counts, name: 'fragile-counts', handle: (event, db) => ((event.data as { key: string }).key === 'boom' ? Promise.reject(new Error('boom')) : counts.handle(event, db)) })
      const failing = runProjection(store, fragile)
      failing.start()
      await expect.poll(() => failing.status().failing?.error, { timeout: 3_000 }).toMatch(/boom/)
      await failing.stop()
      expect(await countsTable(store.kysely)).toEqual({})
      expect(await store.readCheckpoint('projection:fragile-counts')).toBe(0)
      const healthy = runProjection(store, { ...counts, name: 'fragile-counts' })
      healthy.start()
      await healthy.caughtUp(position)
      await healthy.stop()
      expect(await countsTable(store.kysely)).toEqual({ a: 1, boom: 1 })
    })

    it('applies each event once when two instances run the same projection', async () => {
      const [a, b] = [await open(), await open()]
      await countsTable(a.kysely)
      const runners = [runProjection(a, counts, { batchSize: 7, pollInterval: 5 }), runProjection(b, counts, { batchSize: 5, pollInterval: 5 })]
      for (const runner of runners) runner.start()
      let last = 0
      for (let i = 0; i < 60; i++) last = (await (i % 2 ? a : b).append(`k-${i % 3}`, [{ type: 'counted', data: { key: `k${i % 3}` } }])).position
      await Promise.all(runners.map((runner) => runner.caughtUp(last, 10_000)))
      await Promise.all(runners.map((runner) => runner.stop()))
      expect(await countsTable(a.kysely)).toEqual({ k0: 20, k1: 20, k2: 20 })
    })

    it('rebuilds a projection from position 0 to the same read model', async () => {
      const store = await open()
      await countsTable(store.kysely)
      await store.append('s', [{ type: 'counted', data: { key: 'x' } }, { type: 'other', data: {} }, { type: 'counted', data: { key: 'x' } }])
      const head = await store.headPosition()
      const first = runProjection(store, counts)
      first.start()
      await first.caughtUp(head)
      await first.stop()
      const before = await countsTable(store.kysely)
      await resetProjection(store, counts)
      expect(await countsTable(store.kysely)).toEqual({})
      const rebuild = runProjection(store, counts)
      rebuild.start()
      await rebuild.caughtUp(head)
      await rebuild.stop()
      expect(await countsTable(store.kysely)).toEqual(before)
      expect(before).toEqual({ x: 2 })
    })
  })
}
