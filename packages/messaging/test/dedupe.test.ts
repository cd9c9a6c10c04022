import { createApp } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Database, database } from '@plinth/db'
import { describe, expect, it } from 'vitest'
import { databaseDedupe, MemoryDedupe, type DedupeStore } from '../src/index.js'

function dedupeConformance(name: string, make: () => Promise<{ store: DedupeStore; [Symbol.asyncDispose](): Promise<void> }>): void {
  describe(`${name} as a dedupe store`, () => {
    it('remembers ids per group', async () => {
      await using made = await make()
      const { store } = made
      expect(await store.seen('g', 'm1')).toBe(false)
      await store.remember('g', 'm1')
      expect(await store.seen('g', 'm1')).toBe(true)
      expect(await store.seen('other', 'm1')).toBe(false)
      expect(await store.seen('g', 'm2')).toBe(false)
    })

    it('accepts the same id remembered twice', async () => {
      await using made = await make()
      await made.store.remember('g', 'm1')
      await expect(made.store.remember('g', 'm1')).resolves.toBeUndefined()
      expect(await made.store.seen('g', 'm1')).toBe(true)
    })
  })
}

dedupeConformance('MemoryDedupe', () => Promise.resolve({ store: new MemoryDedupe(), [Symbol.asyncDispose]: () => Promise.resolve() }))

dedupeConformance('databaseDedupe on SQLite', async () => {
  const t = await startTestApp(createApp({ name: 'dedupe', components: [database({ url: 'sqlite::memory:' })], logging: { level: 'silent' } }))
  const db = await t.resolve(Database)
  return { store: databaseDedupe(db), [Symbol.asyncDispose]: () => t.stop().then(() => undefined) }
})

describe('MemoryDedupe', () => {
  it('forgets the oldest ids past its capacity', async () => {
    const store = new MemoryDedupe({ capacity: 2 })
    for (const id of ['a', 'b', 'c']) await store.remember('g', id)
    expect(await store.seen('g', 'a')).toBe(false)
    expect(await store.seen('g', 'c')).toBe(true)
  })
})
