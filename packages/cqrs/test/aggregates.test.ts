import { afterEach, describe, expect, it } from 'vitest'
import { isPlinthError } from '@plinth/core'
import { SqlSnapshots, eventSchemas, loadAggregate, withUpcasting, type RecordedEvent } from '../src/index.js'
import { sqliteHarness, type SqlHarness } from './harness.js'

let harness: SqlHarness | undefined
afterEach(async () => {
  await harness?.dispose()
  harness = undefined
})

describe('upcasting', () => {
  const schemas = {
    'device.registered': {
      version: 3,
      upcast: {
        1: (data: { name: string }) => ({ ...data, room: null }),
        2: (data: { name: string; room: string | null }) => ({ label: data.name, room: data.room }),
      },
    },
  }

  it('hands out the current shape for events written at any older version, and records the version of new ones', async () => {
    harness = sqliteHarness()
    const raw = await harness.open()
    await raw.append('device-1', [{ type: 'device.registered', data: { name: 'thermo' } }]) // written before versions existed: 1
    await raw.append('device-2', [{ type: 'device.registered', data: { name: 'hygro', room: 'attic' }, metadata: { schemaVersion: 2 } }])
    const store = withUpcasting(raw, schemas)
    await store.append('device-3', [{ type: 'device.registered', data: { label: 'baro', room: 'hall' } }])
    const all = await store.readAll()
    expect(all.map((e) => e.data)).toEqual([{ label: 'thermo', room: null }, { label: 'hygro', room: 'attic' }, { label: 'baro', room: 'hall' }])
    expect((await raw.readStream('device-3'))[0]!.metadata).toEqual({ schemaVersion: 3 })
    expect((await store.readStream('device-1'))[0]!.metadata.schemaVersion).toBe(3)
  })

  it('refuses a declaration with a missing step at once, and an event newer than the code when it is read', async () => {
    expect(() => eventSchemas({ 'x.happened': { version: 3, upcast: { 1: (d: unknown) => d } } })).toThrow(/event type "x.happened" is at version 3 but has no upcaster from version 2/)
    harness = sqliteHarness()
    const raw = await harness.open()
    await raw.append('d', [{ type: 'device.registered', data: {}, metadata: { schemaVersion: 4 } }])
    const error = await withUpcasting(raw, schemas).readAll().catch((e: unknown) => e)
    expect(isPlinthError(error, 'PLINTH_ERR_EVENTS_UPCAST')).toBe(true)
    expect((error as Error).message).toMatch(/written at version 4, newer than this service's 3/)
  })
})

describe('aggregates with snapshots', () => {
  const counter = {
    initial: () => ({ total: 0, count: 0 }),
    evolve: (state: { total: number; count: number }, event: RecordedEvent) => ({ total: state.total + (event.data as number), count: state.count + 1 }),
  }

  it('loads a stream of 100,000 events from its snapshot, replaying only what came after it', { timeout: 60_000 }, async () => {
    harness = sqliteHarness()
    const store = await harness.open()
    for (let batch = 0; batch < 100; batch++) {
      await store.append('meter-1', Array.from({ length: 1_000 }, (_, i) => ({ type: 'counted', data: batch * 1_000 + i })))
    }
    const snapshots = new SqlSnapshots(store.kysely)
    const definition = { ...counter, snapshots: { store: snapshots, every: 500 } }
    const first = await loadAggregate(store, 'meter-1', definition)
    expect(first).toEqual({ state: { total: 4_999_950_000, count: 100_000 }, version: 100_000, replayed: 100_000 })
    expect(await snapshots.load('meter-1')).toEqual({ version: 100_000, state: first.state })
    await store.append('meter-1', [{ type: 'counted', data: 7 }], { expectedVersion: first.version })
    const second = await loadAggregate(store, 'meter-1', definition)
    expect(second).toEqual({ state: { total: 4_999_950_007, count: 100_001 }, version: 100_001, replayed: 1 })
    const without = await loadAggregate(store, 'meter-1', counter)
    expect(without.state).toEqual(second.state)
    expect(without.replayed).toBe(100_001)
  })
})
