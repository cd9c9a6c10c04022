import { failed, type CheckResult } from './check.js'
import { degradedUpstream } from './dependants.js'
import { logBreakerChanges } from './breaker-log.js'
import type { BreakerListener } from './breaker.js'
import { HealthRegistry, type HealthOptions, type HealthSubject } from './health.js'
import { Health, HealthChecks, Logger, Metrics } from '../app/kernel-tokens.js'
import type { Logger as PinoLogger } from '../logging/logger.js'
import type { MetricsOptions, MetricsRegistry } from '../metrics/metrics.js'
import { provide, type AnyProvider } from '../container/provider.js'
import type { Token } from '../container/token.js'

/**
 * Connects health to metrics and logs: `app_service_status` is read from the cache at each
 * scrape (so a stale result shows as unknown there too), every run that finds a dependency down
 * counts in `app_health_check_failures_total`, and changes of state are logged once each. A
 * circuit breaker's outage is logged as one (`logBreakerChanges`): its opening and its
 * recovery, not each trial in between. Given the app, a check the ready line already named as
 * degraded gets no second warning for its first result.
 *
 * @example
 * const stop = instrumentHealth(health, metrics, log)
 */
export function instrumentHealth(health: HealthRegistry, metrics: MetricsRegistry, log?: PinoLogger, app?: Pick<HealthSubject, 'timeline' | 'components'>): () => void {
  const seen = new Set<string>()
  const breakerLogs = new Map<string, BreakerListener>()
  const firstRound = app && firstRoundAfterReady(health, app, log)
  const offCollect = metrics.beforeCollect(() => {
    for (const check of health.report().checks) metrics.app.serviceStatus.set({ service: check.name }, statusValue(check.status))
  })
  const offEvents = health.events.subscribe((event) => {
    if (event.type === 'breaker-changed') {
      let listener = breakerLogs.get(event.check)
      if (!listener) breakerLogs.set(event.check, (listener = logBreakerChanges(event.check, log, { fields: { check: event.check } })))
      listener(event.from, event.to, event.snapshot)
      return
    }
    const { check, result, previous } = event
    const first = !seen.has(check)
    // Every check's counter exists from its first run, so that rate() sees the first failure.
    if (first) {
      seen.add(check)
      metrics.app.healthCheckFailures.inc({ service: check }, 0)
    }
    if (failed(result)) metrics.app.healthCheckFailures.inc({ service: check })
    if (first && firstRound?.(check, result)) return
    if (result.status === previous) return
    if (result.status === 'up' && previous !== 'unknown') log?.info({ check, duration: result.duration }, `${check} is up again`)
    else if (result.status !== 'up') {
      log?.[result.status === 'down' && event.critical ? 'error' : 'warn'](
        { check, status: result.status, critical: event.critical, error: result.error },
        `${check} is ${result.status}${result.error ? `: ${result.error}` : ''}`,
      )
    }
  })
  return () => {
    offCollect()
    offEvents()
  }
}

/**
 * The kernel's observability providers: the metrics registry, fed by the lifecycle events, and
 * the health registry, which starts with the first component that needs it. Both depend on the
 * app's `Application` token, passed in so that this file needs nothing of the App class.
 */
export function observabilityProviders(
  application: Token<ObservedApp>,
  options: { health?: HealthOptions | undefined; metrics?: MetricsOptions | undefined } = {},
): AnyProvider[] {
  const metrics = provide(Metrics, {
    deps: { app: application },
    // prom-client takes ~50 ms to load; an app that never asks for metrics does not pay it.
    create: async ({ app }) => {
      const { MetricsRegistry } = await import('../metrics/metrics.js')
      const registry = new MetricsRegistry(options.metrics)
      registry.app.info.set({ app: app.name, version: app.version }, 1)
      registry.observeLifecycle(app.events, app.timeline())
      return registry
    },
  })
  const health = provide(Health, {
    deps: { app: application, checks: HealthChecks, metrics: Metrics, log: Logger },
    create: ({ app, checks, metrics, log }) => {
      const registry = new HealthRegistry(app, checks, options.health)
      instrumentHealth(registry, metrics, log, app)
      return registry
    },
    start: (registry) => registry.start(),
    stop: (registry) => registry.stop(),
  })
  return [metrics, health]
}

/** What the kernel's metrics and health registries read of the application. */
export interface ObservedApp extends HealthSubject {
  readonly name: string
  readonly version: string
}

/**
 * The first results after a degraded start, which would repeat the ready line: a component it
 * named as degraded is not announced again, and those that fail because they depend on it (the
 * job queue on its database) are named together in one line once every check has answered,
 * rather than each in a warning of its own. Returns true for a result it has logged.
 */
function firstRoundAfterReady(health: HealthRegistry, app: Pick<HealthSubject, 'timeline' | 'components'>, log: PinoLogger | undefined) {
  let waiting: Set<string> | undefined
  let degraded: readonly string[] = []
  let upstream = new Map<string, string[]>()
  const held = new Map<string, string[]>()
  return (check: string, result: CheckResult): boolean => {
    if (waiting === undefined) {
      waiting = new Set(health.names())
      const ready = app.timeline().findLast((e) => e.type === 'ready')
      degraded = ready?.type === 'ready' ? ready.degraded : []
      upstream = degradedUpstream(degraded, app.components())
    }
    waiting.delete(check)
    let logged = false
    if (result.status !== 'up' && degraded.includes(check)) {
      log?.debug({ check, status: result.status, reason: result.error }, `${check} is ${result.status}, as the ready line said`)
      logged = true
    } else if (result.status !== 'up' && upstream.has(check)) {
      for (const name of upstream.get(check)!) held.set(name, [...(held.get(name) ?? []), check])
      log?.debug({ check, status: result.status, reason: result.error ?? result.details?.reason }, `${check} is ${result.status}; it depends on ${upstream.get(check)!.join(', ')}`)
      logged = true
    }
    if (waiting.size === 0 && held.size > 0) {
      for (const [name, dependants] of held) {
        log?.warn({ check: name, dependants }, `${dependants.join(', ')} ${dependants.length === 1 ? 'is' : 'are'} degraded too: ${dependants.length === 1 ? 'it depends' : 'they depend'} on ${name}`)
      }
      held.clear()
    }
    return logged
  }
}

/** The value `app_service_status` takes for a check status. */
export function statusValue(status: 'up' | 'degraded' | 'down' | 'unknown'): number {
  return status === 'up' ? 1 : status === 'degraded' ? 0.5 : status === 'down' ? 0 : -1
}
