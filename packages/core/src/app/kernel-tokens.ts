import type { HealthCheck, HealthRegistry } from '../health/health.js'
import type { Logger as PinoLogger } from 'pino'
import type { MetricsRegistry } from '../metrics/metrics.js'
import { token } from '../container/token.js'

/**
 * Each component's own logger: a child of the app's logger named after the component that
 * depends on it.
 *
 * @example
 * component('mailer', { deps: { log: Logger }, create: ({ log }) => new Mailer(log) })
 */
export const Logger = token('logger').of<Logger>()
/** A pino logger. */
export type Logger = PinoLogger

/**
 * The health registry: probes (liveness, readiness, startup) and the report of every check,
 * answered from cache. Servers serve it; see HealthRegistry.
 */
export const Health = token('health').of<HealthRegistry>()

/**
 * Health checks besides components' `health` hooks: contribute one with
 * `provide(HealthChecks, { deps, create: (deps) => ({ name, check }) })`.
 */
export const HealthChecks = token('health-checks').many<HealthCheck>()

/** The app's metrics registry (prom-client); components add their own metrics through it. */
export const Metrics = token('metrics').of<MetricsRegistry>()

