/**
 * One behaviour for every event store backend: run by sqlite.test.ts, postgres.test.ts and
 * redis.test.ts, as hono runs one router suite against every router.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPlinthError } from '@plinth/core'
import type { Appended, AppendOrigin, EventStore } from '../src/index.js'

export interface StoreHarness {
  /** A store on a fresh, empty space (its own file, schema or key prefix). */
  open(): Promise<EventStore>
  /** Removes what open() made. */
  dispose(): Promise<void>
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

export function eventStoreConformance(name: string, harness: () => StoreHarness, enabled = true): void {
  describe.skipIf(!enabled)(`${name}: the event store contract`, () => {
    let h: StoreHarness
    let store: EventStore
    beforeAll(async () => {
      h = harness()
      store = await h.open()
    })
    afterAll(async () => {
      await store?.close()
      await h?.dispose()
    })

    it('appends to a stream and reads it forwards and backwards, with versions, positions, metadata and time', async () => {
      const before = Date.now()
      const result = await store.append('order-1', [
        { type: 'order.placed', data: { total: 30 }, metadata: { correlationId: 'c-1', user: 'ada' } },
        { type: 'order.paid', data: { amount: 30 } },
      ], { expectedVersion: 'no-stream' })
      expect(result.version).toBe(2)
      const events = await store.readStream('order-1')
      expect(events.map((e) => [e.type, e.version, e.data])).toEqual([['order.placed', 1, { total: 30 }], ['order.paid', 2, { amount: 30 }]])
      expect(events[0]!.metadata).toEqual({ correlationId: 'c-1', user: 'ada' })
      expect(events[1]!.position).toBe(result.position)
      expect(events[1]!.position).toBeGreaterThan(events[0]!.position)
      expect(events[0]!.time.getTime()).toBeGreaterThanOrEqual(before - 1_000)
      expect(events[0]!.id).toMatch(/^[0-9a-f-]{36}$/)
      expect((await store.readStream('order-1', { direction: 'backwards' })).map((e) => e.version)).toEqual([2, 1])
      expect((await store.readStream('order-1', { from: 2 })).map((e) => e.type)).toEqual(['order.paid'])
      expect((await store.readStream('order-1', { direction: 'backwards', from: 1 })).map((e) => e.version)).toEqual([1])
      expect((await store.readStream('order-1', { limit: 1 })).map((e) => e.version)).toEqual([1])
      expect(await store.readStream('no-such-stream')).toEqual([])
      expect(await store.streamVersion('order-1')).toBe(2)
      expect(await store.streamVersion('no-such-stream')).toBe(0)
    })

    it('refuses an append at the wrong expected version with a conflict naming the stream, the expected and the actual version, and writes nothing', async () => {
      await store.append('order-2', [{ type: 'order.placed', data: {} }], { expectedVersion: 'no-stream' })
      const conflict = await rejection(store.append('order-2', [{ type: 'order.paid', data: {} }], { expectedVersion: 0 }))
      expect(isPlinthError(conflict, 'PLINTH_ERR_EVENTS_CONFLICT')).toBe(true)
      expect(conflict.message).toBe('stream "order-2" is at version 1, but the append expected version 0')
      expect(conflict.details).toEqual({ stream: 'order-2', expected: 0, actual: 1 })
      expect(isPlinthError(await rejection(store.append('order-2', [{ type: 'x', data: {} }], { expectedVersion: 'no-stream' })), 'PLINTH_ERR_EVENTS_CONFLICT')).toBe(true)
      expect(isPlinthError(await rejection(store.append('order-3', [{ type: 'x', data: {} }], { expectedVersion: 'stream-exists' })), 'PLINTH_ERR_EVENTS_CONFLICT')).toBe(true)
      expect(await store.streamVersion('order-2')).toBe(1)
      expect(await store.streamVersion('order-3')).toBe(0)
      await store.append('order-2', [{ type: 'order.paid', data: {} }], { expectedVersion: 1 })
      await store.append('order-2', [{ type: 'order.shipped', data: {} }], { expectedVersion: 'stream-exists' })
      await store.append('order-2', [{ type: 'order.noted', data: {} }])
      expect((await store.readStream('order-2')).map((e) => e.version)).toEqual([1, 2, 3, 4])
    })

    it('lets exactly one of ten concurrent writers at the same expected version win', async () => {
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.append('race-1', [{ type: 'claimed', data: { by: i } }], { expectedVersion: 'no-stream' })))
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
      for (const o of outcomes) if (o.status === 'rejected') expect(isPlinthError(o.reason, 'PLINTH_ERR_EVENTS_CONFLICT')).toBe(true)
      expect(await store.readStream('race-1')).toHaveLength(1)
    })

    it('reads every stream in global order after a position, a page at a time', async () => {
      const head = await store.headPosition()
      await store.append('a-1', [{ type: 'a', data: 1 }])
      await store.append('b-1', [{ type: 'b', data: 2 }, { type: 'b', data: 3 }])
      await store.append('a-1', [{ type: 'a', data: 4 }])
      const page = await store.readAll({ after: head, limit: 3 })
      expect(page.map((e) => [e.stream, e.data])).toEqual([['a-1', 1], ['b-1', 2], ['b-1', 3]])
      const rest = await store.readAll({ after: page.at(-1)!.position })
      expect(rest.map((e) => e.data)).toEqual([4])
      expect(await store.headPosition()).toBe(rest[0]!.position)
    })

    it('never lets a follower skip an event while many writers append at once', async () => {
      const seen: number[] = []
      let after = await store.headPosition()
      let writing = true
      const follower = (async () => {
        while (writing || (await store.readAll({ after, limit: 1 })).length > 0) {
          const page = await store.readAll({ after, limit: 50 })
          for (const event of page) seen.push(event.data as number)
          if (page.length > 0) after = page.at(-1)!.position
          else await new Promise((r) => setTimeout(r, 2))
        }
      })()
      await Promise.all(Array.from({ length: 8 }, async (_, writer) => {
        for (let i = 0; i < 25; i++) await store.append(`writer-${writer}`, [{ type: 'n', data: writer * 100 + i }])
      }))
      writing = false
      await follower
      expect(seen).toHaveLength(200)
      expect(new Set(seen).size).toBe(200)
    })

    it('refuses a duplicate event id and writes none of that append', async () => {
      await store.append('dup-1', [{ id: 'evt-dup-1', type: 'x', data: {} }])
      const error = await rejection(store.append('dup-2', [{ type: 'y', data: {} }, { id: 'evt-dup-1', type: 'x', data: {} }]))
      expect(isPlinthError(error, 'PLINTH_ERR_EVENTS_DUPLICATE_ID')).toBe(true)
      expect(await store.readStream('dup-2')).toEqual([])
      expect(await store.streamVersion('dup-2')).toBe(0)
    })

    it('refuses bad input before writing anything, saying what and where', async () => {
      const cases: [Promise<unknown>, RegExp][] = [
        [store.append('', [{ type: 'x', data: {} }]), /stream "" is not a valid stream name/],
        [store.append('s-1', []), /needs at least one event/],
        [store.append('s-1', [{ type: '', data: {} }]), /event 0 of the append to "s-1" has type ""/],
        [store.append('s-1', [{ type: 'x', data: { big: 1n } }]), /the data of event 0 .* cannot be stored as JSON: it contains a BigInt/],
        [store.append('s-1', [{ type: 'x', data: new Map() }]), /contains a Map/],
        [store.append('s-1', [{ type: 'x', data: {} }], { expectedVersion: -1 }), /expectedVersion -1 for "s-1" must be/],
        [store.readStream('s-1', { from: 1.5 }), /from 1.5 must be a whole number/],
        [store.readAll({ limit: 0 }), /limit 0 must be a whole number from 1/],
      ]
      for (const [promise, message] of cases) {
        const error = await rejection(promise)
        expect(isPlinthError(error, 'PLINTH_ERR_EVENTS_INVALID'), error.message).toBe(true)
        expect(error.message).toMatch(message)
      }
      expect(await store.streamVersion('s-1')).toBe(0)
    })

    it('keeps named checkpoints', async () => {
      expect(await store.readCheckpoint('projection-a')).toBe(0)
      await store.saveCheckpoint('projection-a', 7)
      await store.saveCheckpoint('projection-a', 9)
      expect(await store.readCheckpoint('projection-a')).toBe(9)
      expect(await store.readCheckpoint('projection-b')).toBe(0)
    })

    it('tells local listeners about each append', async () => {
      const heard: number[] = []
      const off = store.onAppended((result) => heard.push(result.version))
      await store.append('heard-1', [{ type: 'x', data: {} }])
      await store.append('heard-1', [{ type: 'x', data: {} }])
      off()
      await store.append('heard-1', [{ type: 'x', data: {} }])
      expect(heard).toEqual([1, 2])
    })

    it('tells listeners each appended event\'s type, version and position, and that the append was local', async () => {
      const heard: Array<[Appended, AppendOrigin]> = []
      const off = store.onAppended((appended, origin) => heard.push([appended, origin]))
      const written = await store.append('heard-2', [{ type: 'a', data: {}, id: 'heard-2-a' }, { type: 'b', data: {}, id: 'heard-2-b' }])
      off()
      const read = await store.readStream('heard-2')
      expect(heard).toEqual([
        [{ stream: 'heard-2', version: 2, position: written.position, events: read.map((e) => ({ id: e.id, type: e.type, version: e.version, position: e.position })) }, { local: true }],
      ])
    })

    it('hands an append announced by another instance to its listeners as remote', () => {
      const heard: AppendOrigin[] = []
      const off = store.onAppended((_appended, origin) => heard.push(origin))
      store.notifyAppended({ stream: 'elsewhere', version: 1, position: 99, events: [{ id: 'e', type: 'x', version: 1, position: 99 }] }, { local: false, instance: 'b' })
      off()
      expect(heard).toEqual([{ local: false, instance: 'b' }])
    })
  })
}
