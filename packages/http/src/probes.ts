import type { App, HealthRegistry, LifecycleEvent, ProbeResult } from '@plinth/core'
import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify'

/** Who may see each check's errors, details and history at /health. */
export type HealthDetails = 'always' | 'never' | ((request: FastifyRequest) => boolean)

export interface ProbeOptions {
  readonly app: App
  readonly health: HealthRegistry
  readonly details: HealthDetails
}

// Probes are asked every few seconds by orchestrators: never rate-limited, logged at debug.
const probeRoute = (summary: string): RouteShorthandOptions => ({
  config: { rateLimit: false, accessLog: 'debug' },
  schema: { tags: ['health'], summary },
})

const probeBody = (probe: ProbeResult) => (probe.reasons ? { status: probe.status, reasons: probe.reasons } : { status: probe.status })

/**
 * The probe and information routes: /health/live, /health/ready, /health/startup (200 or 503
 * with a small JSON body, answered from the health registry's cache), /health (every check),
 * /info and /boot.
 *
 * @example
 * installProbes(fastify, { app, health, details: 'never' })
 */
export function installProbes(http: FastifyInstance, options: ProbeOptions): void {
  const { app, health } = options
  const full = (request: FastifyRequest) => options.details === 'always' || (typeof options.details === 'function' && options.details(request))
  const probe = (path: string, summary: string, answer: (request: FastifyRequest) => ProbeResult) =>
    http.get(path, probeRoute(summary), (request, reply) => {
      const result = answer(request)
      return reply.code(result.ok ? 200 : 503).header('cache-control', 'no-store').send(probeBody(result))
    })
  probe('/health/live', 'Liveness: the process and its event loop respond', () => health.liveness())
  // Degraded, readiness names the checks that are not up, with why where /health may show errors.
  probe('/health/ready', 'Readiness: booted, not shutting down, every critical dependency up', (request) => health.readiness({ why: full(request) }))
  probe('/health/startup', 'Startup: boot has finished', () => health.startup())

  http.get('/health', probeRoute('Every health check with its state, latency, last error, history and circuit breaker'), (request, reply) => {
    const report = health.report()
    const body = full(request)
      ? report
      : { status: report.status, ready: report.ready, live: report.live, started: report.started, checks: report.checks.map((c) => ({ name: c.name, critical: c.critical, status: c.status })) }
    return reply.code(report.ready ? 200 : 503).header('cache-control', 'no-store').send(body)
  })

  http.get('/info', { config: { rateLimit: false }, schema: { tags: ['health'], summary: 'Version, commit, environment and uptime' } }, () => ({
    name: app.name,
    version: app.version,
    ...(app.env.GIT_COMMIT ? { commit: app.env.GIT_COMMIT } : {}),
    environment: app.appEnv,
    uptimeSeconds: Math.round(app.uptime()) / 1000,
    node: process.version,
    state: app.state,
  }))

  http.get('/boot', { config: { rateLimit: false }, schema: { tags: ['health'], summary: 'The boot timeline: phases and components, timed' } }, () => ({
    endpoints: app.endpoints(),
    events: app.timeline().map(plainEvent),
  }))
}

/** An event as JSON: times rounded to 0.01 ms, errors as their message. */
function plainEvent(event: LifecycleEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(event)) {
    if (key === 'error') out.error = value instanceof Error ? `${(value as { code?: string }).code ? `${(value as { code?: string }).code}: ` : ''}${value.message}` : String(value)
    else if (key === 'failures') out.failures = (value as { component: string; error: unknown }[]).map((f) => ({ component: f.component, error: String(f.error) }))
    else out[key] = typeof value === 'number' ? Math.round(value * 100) / 100 : value
  }
  return out
}
