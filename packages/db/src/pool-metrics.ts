/**
 * Pool figures as Prometheus gauges, named as OpenTelemetry's database client semantic
 * conventions export them (`db.client.connection.*`), like core's HTTP metrics. They are read
 * from the pool at each scrape, so queries pay nothing for them.
 */
import type { MetricsRegistry } from '@plinth/core'
import type { PoolStats } from './driver.js'

/**
 * Publishes one database's pool figures on every scrape, labelled with its pool name; returns
 * the function that stops (and removes its series).
 *
 * | metric | labels |
 * | --- | --- |
 * | `db_client_connection_count` | db_client_connection_pool_name, db_client_connection_state (idle, used) |
 * | `db_client_connection_max` | db_client_connection_pool_name |
 * | `db_client_connection_pending_requests` | db_client_connection_pool_name |
 *
 * @example
 * const stop = publishPoolMetrics(metrics, 'database', () => db.poolStats())
 */
export function publishPoolMetrics(metrics: MetricsRegistry, pool: string, stats: () => PoolStats): () => void {
  const count = metrics.gauge({
    name: 'db_client_connection_count',
    help: 'Connections open in the database pool, by state (idle, used)',
    labelNames: ['db_client_connection_pool_name', 'db_client_connection_state'],
  })
  const max = metrics.gauge({ name: 'db_client_connection_max', help: 'Most connections the database pool opens', labelNames: ['db_client_connection_pool_name'] })
  const pending = metrics.gauge({
    name: 'db_client_connection_pending_requests',
    help: 'Callers waiting for a database connection',
    labelNames: ['db_client_connection_pool_name'],
  })
  const labels = { db_client_connection_pool_name: pool }
  const unsubscribe = metrics.beforeCollect(() => {
    const now = stats()
    count.set({ ...labels, db_client_connection_state: 'used' }, now.inUse)
    count.set({ ...labels, db_client_connection_state: 'idle' }, Math.max(0, now.size - now.inUse))
    max.set(labels, now.max)
    pending.set(labels, now.waiting)
  })
  return () => {
    unsubscribe()
    count.remove({ ...labels, db_client_connection_state: 'used' })
    count.remove({ ...labels, db_client_connection_state: 'idle' })
    max.remove(labels)
    pending.remove(labels)
  }
}
