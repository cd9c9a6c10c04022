/**
 * One suite for every state store. Each test works in buckets of its own; `peer` gives a
 * second store over the same data (another instance) when the backend has one.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { stateErrors, type StateChange, type StateStore } from '@plinth/state'

export interface StoreSetup {
  open(): Promise<StateStore>
  /** Another store over the same data, as a second instance would have. */
  peer?(): Promise<StateStore>
}

export function stateStoreConformance(name: string, setup: StoreSetup): void {
  describe(`state store conformance: ${name}`, () => {
    const stores: StateStore[] = []
    const open = async () => {
      const store = await setup.open()
      stores.push(store)
      return store
    }
    afterAll(async () => {
      await Promise.all(stores.map((store) => store.close()))
    })
    const bucket = () => `b-${randomUUID()}`

    it('reads back what was written, field by field', async () => {
      const store = await open()
      const b = bucket()
      await store.open(b)
      expect(await store.get(b, 'cart')).toBeUndefined()
      await store.set(b, 'cart', '{"items":["apple"]}')
      await store.set(b, 'theme', '"dark"')
      expect(await store.get(b, 'cart')).toBe('{"items":["apple"]}')
      expect(await store.get(b, 'theme')).toBe('"dark"')
      expect(await store.delete(b, 'theme')).toBe(true)
      expect(await store.delete(b, 'theme')).toBe(false)
      expect(await store.get(b, 'theme')).toBeUndefined()
    })

    it('refuses writes to a bucket that is not open, or was dropped, so a session is never revived', async () => {
      const store = await open()
      const b = bucket()
      await expect(store.set(b, 'x', '1')).rejects.toSatisfy((error) => stateErrors.is(error, 'PLINTH_ERR_STATE_SESSION_ENDED'))
      await store.open(b)
      await store.set(b, 'x', '1')
      await store.drop(b)
      expect(await store.get(b, 'x')).toBeUndefined()
      await expect(store.set(b, 'x', '2')).rejects.toThrow('is not open')
      await expect(store.compareAndSet(b, 'x', undefined, '2')).rejects.toThrow('is not open')
      expect(await store.touch(b)).toBe(false)
      expect(await store.get(b, 'x')).toBeUndefined()
    })

    it('compare-and-set writes only over the expected value', async () => {
      const store = await open()
      const b = bucket()
      await store.open(b)
      expect(await store.compareAndSet(b, 'n', undefined, '1')).toBe(true)
      expect(await store.compareAndSet(b, 'n', undefined, '1')).toBe(false)
      expect(await store.compareAndSet(b, 'n', '2', '3')).toBe(false)
      expect(await store.compareAndSet(b, 'n', '1', '2')).toBe(true)
      expect(await store.get(b, 'n')).toBe('2')
      expect(await store.compareAndSet(b, 'n', '2', undefined)).toBe(true)
      expect(await store.get(b, 'n')).toBeUndefined()
    })

    it('settles concurrent increments by compare-and-set without losing one', async () => {
      const store = await open()
      const b = bucket()
      await store.open(b)
      const increment = async () => {
        for (;;) {
          const current = await store.get(b, 'count')
          if (await store.compareAndSet(b, 'count', current, String(Number(current ?? 0) + 1))) return
        }
      }
      await Promise.all(Array.from({ length: 40 }, increment))
      expect(await store.get(b, 'count')).toBe('40')
    })

    it('expires a field after its own TTL, and tells its watchers', async () => {
      const store = await open()
      const b = bucket()
      await store.open(b)
      const seen: StateChange[] = []
      const stop = await store.watch(b, 'otp', (change) => seen.push(change))
      await store.set(b, 'otp', '"123456"', 50)
      await store.set(b, 'name', '"Ada"')
      await expect.poll(() => seen.map((change) => change.type), { timeout: 5_000 }).toEqual(['set', 'expire'])
      expect(seen[0]).toMatchObject({ bucket: b, field: 'otp', value: '"123456"' })
      expect(await store.get(b, 'otp')).toBeUndefined()
      expect(await store.get(b, 'name')).toBe('"Ada"')
      await stop()
    })

    it('tells watchers of changes and deletions, and stops when asked', async () => {
      const store = await open()
      const b = bucket()
      await store.open(b)
      const seen: string[] = []
      const stop = await store.watch(b, undefined, (change) => seen.push(`${change.type} ${change.field} ${change.value ?? ''}`))
      await store.set(b, 'a', '1')
      await store.delete(b, 'a')
      await expect.poll(() => seen).toEqual(['set a 1', 'delete a '])
      await stop()
      await store.set(b, 'a', '2')
      await store.set(b, 'marker', '1')
      const more: string[] = []
      const stopMore = await store.watch(b, 'marker', (change) => more.push(change.type))
      await store.set(b, 'marker', '2')
      await expect.poll(() => more).toEqual(['set'])
      expect(seen).toHaveLength(2)
      await stopMore()
    })

    it('drops a bucket after its TTL unless touched', async () => {
      const store = await open()
      const b = bucket()
      await store.open(b, 80)
      await store.set(b, 'x', '1')
      expect(await store.touch(b, 80)).toBe(true)
      await expect.poll(() => store.touch(b), { timeout: 5_000 }).toBe(false)
      await expect(store.set(b, 'x', '2')).rejects.toThrow('is not open')
    })

    if (setup.peer) {
      it('shares state with, and fires the watchers of, another instance', async () => {
        const a = await open()
        const other = await setup.peer!()
        stores.push(other)
        const b = bucket()
        await a.open(b)
        const seen: string[] = []
        await other.watch(b, 'flag', (change) => seen.push(`${change.type}:${change.value ?? ''}`))
        await a.set(b, 'flag', 'true')
        expect(await other.get(b, 'flag')).toBe('true')
        await a.set(b, 'flag', 'false', 50)
        await expect.poll(() => seen, { timeout: 5_000 }).toEqual(['set:true', 'set:false', 'expire:'])
      })
    }
  })
}
