/**
 * The query bus's result cache: in memory, invalidated by TTL, by tag, and by the event types
 * each query declares as making it stale.
 */
import { Metrics, component, optional } from '@plinth/core'
import type { RecordedEvent } from './contract.js'
import { EventStore } from './tokens.js'

interface Entry {
  readonly value: unknown
  readonly expires: number
  readonly tags: readonly string[]
  readonly query: string
  /** The projection's position when the value was computed. */
  readonly position: number | undefined
}

/**
 * Cached query results, in memory, invalidated by TTL, by tag, and by the event types each query
 * declares as making it stale (read from the store as they are appended, on this instance and,
 * through the store's poll, on others).
 *
 * @example
 * const { cache } = await container.resolve(QueryCacheComponent)
 * cache.invalidateTag('device:7')
 */
export class QueryCache {
  readonly #entries = new Map<string, Entry>()
  readonly #staleOn = new Map<string, Set<string>>()
  readonly hits = new Map<string, number>()
  readonly misses = new Map<string, number>()

  /** Registers which event types make a query stale. */
  declare(query: string, staleOn: readonly string[] = []): void {
    for (const type of staleOn) {
      let queries = this.#staleOn.get(type)
      if (queries === undefined) this.#staleOn.set(type, (queries = new Set()))
      queries.add(query)
    }
  }

  get(key: string, minPosition?: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expires <= Date.now()) {
      this.#entries.delete(key)
      return undefined
    }
    if (minPosition !== undefined && (entry.position ?? 0) < minPosition) return undefined
    return entry
  }

  set(key: string, entry: Entry): void {
    this.#entries.set(key, entry)
  }

  count(map: Map<string, number>, query: string): void {
    map.set(query, (map.get(query) ?? 0) + 1)
  }

  /** Drops every result carrying `tag`. */
  invalidateTag(tag: string): number {
    return this.#drop((entry) => entry.tags.includes(tag))
  }

  /** Drops every result of a query. */
  invalidateQuery(query: string): number {
    return this.#drop((entry) => entry.query === query)
  }

  /** Drops the results of every query that declared this event's type as making it stale. */
  observe(event: Pick<RecordedEvent, 'type'>): void {
    for (const query of this.#staleOn.get(event.type) ?? []) this.invalidateQuery(query)
  }

  #drop(test: (entry: Entry) => boolean): number {
    let dropped = 0
    for (const [key, entry] of this.#entries) {
      if (test(entry)) {
        this.#entries.delete(key)
        dropped++
      }
    }
    return dropped
  }
}

/**
 * The app's query cache, following the store to invalidate by event type.
 *
 * @example
 * component('admin', { deps: { cache: QueryCacheComponent }, create: ({ cache }) => ({ flush: () => cache.invalidateTag('devices') }) })
 */
export const QueryCacheComponent = component('query-cache', {
  deps: { store: optional(EventStore), metrics: optional(Metrics) },
  create: ({ store }) => {
    const cache = new QueryCache()
    if (store === undefined) return { cache, stop: () => Promise.resolve() }
    let position = -1
    let reading: Promise<void> | undefined
    // Reads what was appended since the last look; appends here wake it, others are polled.
    const follow = () =>
      (reading ??= (async () => {
        try {
          if (position < 0) position = await store.headPosition()
          for (let page = await store.readAll({ after: position }); page.length > 0; page = await store.readAll({ after: position })) {
            for (const event of page) cache.observe(event)
            position = page.at(-1)!.position
          }
        } catch {
          // The store is unavailable; cached values still expire by TTL, and the next look retries.
        } finally {
          reading = undefined
        }
      })())
    const off = store.onAppended(() => void follow())
    const timer = setInterval(() => void follow(), 250)
    timer.unref()
    void follow()
    return {
      cache,
      stop: async () => {
        off()
        clearInterval(timer)
        await reading
      },
    }
  },
  stop: (instance) => instance.stop(),
})
