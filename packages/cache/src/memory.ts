/**
 * The memory tier: an LRU bounded by entries and by bytes (lru-cache), with an index from tags
 * to keys so that invalidating a tag touches only its entries. Entries hold decoded values, so
 * a hit costs a map lookup and a clock read; every caller gets the same object back.
 */
import { LRUCache } from 'lru-cache'
import type { Entry } from './entry.js'

export interface MemoryTierOptions {
  /** Most entries held. */
  maxEntries: number
  /** Most bytes held, as estimated from each value's size. */
  maxBytes: number
  /** Called with the namespace of an entry dropped to make room. */
  onEvict(namespace: string): void
}

/** Keys are `namespace:key`; a namespace has no ":" of its own, so the first one splits them. */
export const namespaceOf = (key: string): string => key.slice(0, key.indexOf(':'))

export class MemoryTier {
  readonly #lru: LRUCache<string, Entry>
  readonly #tags = new Map<string, Set<string>>()

  constructor(options: MemoryTierOptions) {
    this.#lru = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      dispose: (entry, key, reason) => {
        if (entry.t !== undefined) this.#unindex(key, entry.t)
        if (reason === 'evict') options.onEvict(namespaceOf(key))
      },
    })
  }

  get size(): number {
    return this.#lru.size
  }

  /** Bytes held, as estimated. */
  get bytes(): number {
    return this.#lru.calculatedSize
  }

  get(key: string): Entry | undefined {
    return this.#lru.get(key)
  }

  set(key: string, entry: Entry, size: number): void {
    // lru-cache refuses (and drops) an entry larger than maxSize; sizes must be positive integers.
    this.#lru.set(key, entry, { size: Math.max(1, Math.ceil(size)) })
    if (entry.t !== undefined && this.#lru.has(key)) {
      for (const tag of entry.t) {
        let keys = this.#tags.get(tag)
        if (keys === undefined) this.#tags.set(tag, (keys = new Set()))
        keys.add(key)
      }
    }
  }

  delete(key: string): void {
    this.#lru.delete(key)
  }

  /** Drops every entry of a namespace. */
  deleteNamespace(namespace: string): void {
    const prefix = `${namespace}:`
    for (const key of [...this.#lru.keys()]) if (key.startsWith(prefix)) this.#lru.delete(key)
  }

  /** Drops every entry carrying one of `tags` (full tags, `namespace:tag`). */
  deleteTags(tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#tags.get(tag)
      if (keys === undefined) continue
      for (const key of [...keys]) this.#lru.delete(key)
      this.#tags.delete(tag)
    }
  }

  clear(): void {
    this.#lru.clear()
    this.#tags.clear()
  }

  #unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#tags.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.#tags.delete(tag)
    }
  }
}
