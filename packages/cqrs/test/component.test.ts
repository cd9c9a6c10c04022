import { describe, expect, it } from 'vitest'
import { Health, createApp, isPlinthError, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { database } from '@plinth/db'
import { EventStore, Projections, eventStore, projection } from '../src/index.js'

const names = projection({
  name: 'device-names',
  types: ['device.named'],
  handle: async (event, db) => {
    const { name } = event.data as { name: string }
    await db.insertInto('device_names').values({ stream: event.stream, name }).onConflict((oc) => oc.column('stream').doUpdateSet({ name })).execute()
  },
  reset: async (db) => void (await db.deleteFrom('device_names').execute()),
})

const readModel = (await import('@plinth/db')).defineMigrations('device-names', {
  '001_device_names': { up: (db) => db.schema.createTable('device_names').addColumn('stream', 'text', (c) => c.primaryKey()).addColumn('name', 'text').execute() },
})

describe('eventStore() in an app', () => {
  it('stores events in the app database, migrates its tables, runs the declared projections and reports them in health', async () => {
    const app = createApp({ name: 'devices', logging: { level: 'silent' }, components: [database(), ...eventStore(), readModel, provide(Projections, { value: names })] })
    const t = await startTestApp(app)
    try {
      const store = await t.resolve(EventStore)
      const { position } = await store.append('device-7', [{ type: 'device.named', data: { name: 'kitchen' } }], { expectedVersion: 'no-stream' })
      await store.append('device-7', [{ type: 'device.named', data: { name: 'pantry' } }], { expectedVersion: 1 })
      const db = await t.resolve((await import('@plinth/db')).Database)
      await expect.poll(async () => db.kysely.selectFrom('device_names').selectAll().execute(), { timeout: 5_000 }).toEqual([{ stream: 'device-7', name: 'pantry' }])
      expect(await store.readCheckpoint('projection:device-names')).toBeGreaterThan(position)
      const health = await t.resolve(Health)
      health.start() // nothing in this app needs health at boot, so it was built on demand
      await health.checkNow()
      const report = health.report()
      const entry = JSON.stringify(report)
      expect(entry).toContain('device-names')
      expect(entry).toContain('"event-store"')
    } finally {
      await t.stop()
    }
  })

  it('refuses an EVENTS_URL that is not Redis, and an app without a database, saying what to do', async () => {
    const noDb = createApp({ name: 'no-db', logging: { level: 'silent' }, components: [...eventStore()] })
    const error = await startTestApp(noDb).catch((e: unknown) => e)
    expect(String((error as Error).message) + String((error as { cause?: Error }).cause?.message)).toMatch(/the event store needs a database: add database\(\) from @plinth\/db/)
    const wrongUrl = createApp({ name: 'wrong-url', logging: { level: 'silent' }, components: [database(), ...eventStore()] })
    const second = await startTestApp(wrongUrl, { env: { EVENTS_URL: 'postgres://x@y/z' } }).catch((e: unknown) => e)
    expect(isPlinthError(second)).toBe(true)
    expect(JSON.stringify(second)).not.toContain('x@y')
    expect(JSON.stringify((second as Error).message) + String((second as { cause?: Error }).cause?.message)).toMatch(/EVENTS_URL must be a redis:\/\/ or rediss:\/\/ URL .*got a postgres: URL/)
  })
})
