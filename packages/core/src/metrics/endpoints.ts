/**
 * Where an app serves its metrics, as the components that serve them declare it: the
 * `monitoring` preflight check recognises any of them (core's metricsServer(), an HTTP server's
 * /metrics route, a package's own), not one component by name.
 */
import type { AnyProvider } from '../container/provider.js'

const endpoints = new WeakMap<AnyProvider, string>()

/**
 * Declares that `provider` serves the app's metrics registry for Prometheus, described as
 * `where` (e.g. `GET /metrics on the HTTP server`). Returns the provider.
 *
 * @example
 * const server = servesMetrics(component('admin-server', { ... }), 'GET /metrics on ADMIN_PORT')
 */
export function servesMetrics<P extends AnyProvider>(provider: P, where: string): P {
  endpoints.set(provider, where)
  return provider
}

/** Where a provider serves metrics, when it declared so with servesMetrics(). */
export function metricsEndpointOf(provider: AnyProvider): string | undefined {
  return endpoints.get(provider)
}
