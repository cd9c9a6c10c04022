/**
 * Where an app serves its metrics, as the components that serve them declare it: the
 * `monitoring` preflight check recognises any of them (core's metricsServer(), an HTTP server's
 * /metrics route, a package's own), not one component by name.
 */
import type { AnyProvider } from '../container/provider.js'

/** Where an endpoint listens, read from the environment and configuration of the run. */
export type MetricsAddress = (from: { env: NodeJS.ProcessEnv; config: unknown }) => { host: string; port: number; path: string }

/** What a component declared about the metrics it serves. */
export interface MetricsEndpoint {
  /** For the table: `GET /metrics on the HTTP server`. */
  readonly where: string
  /** Where a running instance answers a scrape; without it the check renders the registry only. */
  readonly address?: MetricsAddress
}

const endpoints = new WeakMap<AnyProvider, MetricsEndpoint>()

/**
 * Declares that `provider` serves the app's metrics registry for Prometheus, described as
 * `where` (e.g. `GET /metrics on the HTTP server`), and where it listens: the preflight then
 * scrapes a running instance over HTTP. Returns the provider.
 *
 * @example
 * const server = servesMetrics(component('admin-server', { ... }), 'GET /metrics on ADMIN_PORT', ({ env }) => ({ host: '127.0.0.1', port: Number(env.ADMIN_PORT ?? 9100), path: '/metrics' }))
 */
export function servesMetrics<P extends AnyProvider>(provider: P, where: string, address?: MetricsAddress): P {
  endpoints.set(provider, address ? { where, address } : { where })
  return provider
}

/**
 * What a provider declared with servesMetrics(), if it did.
 *
 * @example
 * metricsEndpointOf(metricsServer())?.where // 'GET /metrics on the metrics server (METRICS_PORT, default 9090)'
 */
export function metricsEndpointOf(provider: AnyProvider): MetricsEndpoint | undefined {
  return endpoints.get(provider)
}
