/**
 * The bus's Prometheus metrics: a BusObserver that counts every step per topic (and group), times
 * handlers, and reads consumer lag at each scrape.
 *
 * | metric | labels |
 * | --- | --- |
 * | `messaging_published_total` | topic |
 * | `messaging_delivered_total`, `messaging_acked_total`, `messaging_retried_total`, `messaging_dead_lettered_total`, `messaging_deduplicated_total` | topic, group |
 * | `messaging_handler_duration_seconds` (histogram) | topic, group, outcome (ok, error) |
 * | `messaging_consumer_lag` | topic, group |
 */
import type { MetricsRegistry } from '@plinth/core'
import type { BusObserver } from './observer.js'

type Inc = { inc(): void }
type Observe = { observe(value: number): void }

/**
 * Registers the bus metrics and returns the observer that feeds them. `lag` is read at each
 * scrape (keys "topic/group").
 *
 * @example
 * const bus = new Bus({ broker, observer: busMetrics(metrics, () => bus.lag()) })
 */
export function busMetrics(metrics: MetricsRegistry, lag: () => Promise<Record<string, number>>): BusObserver {
  const perTopic = (name: string, help: string) => metrics.counter({ name, help, labelNames: ['topic'] })
  const perGroup = (name: string, help: string) => metrics.counter({ name, help, labelNames: ['topic', 'group'] })
  const published = perTopic('messaging_published_total', 'Messages the broker persisted, by topic')
  const delivered = perGroup('messaging_delivered_total', 'Deliveries to a handler of this instance, retries included')
  const acked = perGroup('messaging_acked_total', 'Messages acknowledged after their handler succeeded')
  const retried = perGroup('messaging_retried_total', 'Handler failures handed back for another attempt')
  const deadLettered = perGroup('messaging_dead_lettered_total', 'Messages moved to the dead-letter queue')
  const deduplicated = perGroup('messaging_deduplicated_total', 'Redeliveries skipped because their group had handled them')
  const duration = metrics.histogram({
    name: 'messaging_handler_duration_seconds',
    help: 'How long message handlers ran',
    labelNames: ['topic', 'group', 'outcome'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
  })
  metrics.gauge({
    name: 'messaging_consumer_lag',
    help: 'Messages of a group not yet delivered to any of its consumers',
    labelNames: ['topic', 'group'],
    async collect() {
      this.reset()
      for (const [key, value] of Object.entries(await lag())) {
        const at = key.lastIndexOf('/')
        if (value >= 0) this.set({ topic: key.slice(0, at), group: key.slice(at + 1) }, value)
      }
    },
  })
  // prom-client hashes labels on every inc(); bound children are looked up once per topic and group.
  const children = new Map<string, Inc | Observe>()
  const child = <C extends Inc | Observe>(key: string, make: () => C): C => {
    let found = children.get(key) as C | undefined
    if (found === undefined) children.set(key, (found = make()))
    return found
  }
  const count = (counter: typeof delivered, name: string, topic: string, group: string) => child<Inc>(`${name}\0${topic}\0${group}`, () => counter.labels(topic, group)).inc()
  return {
    published: (topic) => child<Inc>(`p\0${topic}`, () => published.labels(topic)).inc(),
    delivered: (topic, group) => count(delivered, 'd', topic, group),
    acked: (topic, group) => count(acked, 'a', topic, group),
    retried: (topic, group) => count(retried, 'r', topic, group),
    deadLettered: (topic, group) => count(deadLettered, 'x', topic, group),
    deduplicated: (topic, group) => count(deduplicated, 'u', topic, group),
    handled: (topic, group, seconds, ok) => {
      const outcome = ok ? 'ok' : 'error'
      child<Observe>(`h\0${topic}\0${group}\0${outcome}`, () => duration.labels(topic, group, outcome)).observe(seconds)
    },
  }
}
