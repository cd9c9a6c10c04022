/**
 * Counters per namespace and tier. The hot path bumps plain numbers on an object it holds; the
 * figures reach Prometheus only at scrape time (a prom-client counter hashes its labels on
 * every `inc`, which would cost more than a memory hit itself).
 */
import type { MetricsRegistry } from '@plinth/core'

export type TierName = 'memory' | 'redis'

/** What happened in one tier of one namespace since the cache was made. */
export interface TierCounters {
  hits: number
  misses: number
  sets: number
  evictions: number
  errors: number
}

const kinds = ['hits', 'misses', 'sets', 'evictions', 'errors'] as const

/** Every namespace's counters, per tier. */
export class CacheStats {
  readonly #counters = new Map<string, TierCounters>()

  /** The live counters of a namespace in a tier (the same object on every call). */
  counters(namespace: string, tier: TierName): TierCounters {
    const id = `${tier}\u0000${namespace}`
    let counters = this.#counters.get(id)
    if (counters === undefined) this.#counters.set(id, (counters = { hits: 0, misses: 0, sets: 0, evictions: 0, errors: 0 }))
    return counters
  }

  /** A copy of every counter: `{ 'users': { memory: {...}, redis: {...} } }`. */
  snapshot(): Record<string, Partial<Record<TierName, TierCounters>>> {
    const out: Record<string, Partial<Record<TierName, TierCounters>>> = {}
    for (const [id, counters] of this.#counters) {
      const [tier, namespace] = id.split('\u0000') as [TierName, string]
      ;(out[namespace] ??= {})[tier] = { ...counters }
    }
    return out
  }

  /**
   * Publishes the counters as `app_cache_{hits,misses,sets,evictions,errors}_total` with
   * `namespace` and `tier` labels; returns the function that stops publishing.
   */
  publish(metrics: MetricsRegistry, cache: string): () => void {
    const labelNames = ['cache', 'namespace', 'tier'] as const
    const counters = Object.fromEntries(
      kinds.map((kind) => [kind, metrics.counter({ name: `app_cache_${kind}_total`, help: `Cache ${kind} per namespace and tier`, labelNames })]),
    )
    // What has been reported so far, so that each scrape adds only the difference.
    const reported = new Map<string, TierCounters>()
    const report = () => {
      for (const [id, now] of this.#counters) {
        const [tier, namespace] = id.split('\u0000') as [TierName, string]
        let last = reported.get(id)
        if (last === undefined) reported.set(id, (last = { hits: 0, misses: 0, sets: 0, evictions: 0, errors: 0 }))
        for (const kind of kinds) {
          const delta = now[kind] - last[kind]
          // inc(0) still creates the series, so that a namespace shows with zeros before its first hit.
          counters[kind]!.inc({ cache, namespace, tier }, delta)
          last[kind] = now[kind]
        }
      }
    }
    const off = metrics.beforeCollect(report)
    return () => {
      off()
      for (const id of reported.keys()) {
        const [tier, namespace] = id.split('\u0000') as [TierName, string]
        for (const kind of kinds) counters[kind]!.remove({ cache, namespace, tier })
      }
    }
  }
}
