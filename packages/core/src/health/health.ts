import type { BreakerSnapshot, BreakerState, CircuitBreaker } from './breaker.js'
import { PlinthError, describe } from '../errors.js'
import { LoopMonitor, type LoopMonitorOptions } from './event-loop.js'
import { EventStream, type AppState, type LifecycleEvent } from '../lifecycle/events.js'
import { CheckRunner, type CheckResult, type CheckSettings, type CheckStatus, type HealthCheck } from './check.js'
import type { ComponentStatus } from '../lifecycle/lifecycle.js'

/**
 * What the registry reads of the application: its state, its lifecycle events and its
 * components. An App is one; the registry needs nothing else of it.
 */
export interface HealthSubject {
  readonly state: AppState
  readonly ready: boolean
  readonly events: EventStream<LifecycleEvent>
  timeline(): readonly LifecycleEvent[]
  components(): ComponentStatus[]
}

export interface HealthOptions {
  /** Defaults for every check that sets none (timeout, interval, staleness, history, breaker). */
  defaults?: CheckSettings
  /** Liveness fails once the event loop has been blocked this long, in milliseconds. Default 5 000. */
  maxEventLoopDelay?: number
  /** How the event loop is sampled for liveness. */
  eventLoop?: LoopMonitorOptions
  /** The clock, epoch milliseconds; injected by tests. */
  now?: () => number
}

/** What a probe answers: its verdict, a status, and why when it is not up. */
export interface ProbeResult {
  readonly ok: boolean
  readonly status: 'up' | 'degraded' | 'down'
  /** One line per check that is not up (`database is degraded: ...`), or why the app is not ready. */
  readonly reasons?: readonly string[]
}

/** One check in the full report (/health). */
export interface HealthCheckReport {
  readonly name: string
  readonly source: 'component' | 'check'
  readonly critical: boolean
  readonly status: CheckStatus
  /** Duration of the latest run, in milliseconds. */
  readonly latency: number | undefined
  readonly checkedAt: string | undefined
  /** Age of the latest result, in milliseconds. */
  readonly age: number | undefined
  /** How long the run in flight has been going, if one is. */
  readonly pendingFor: number | undefined
  readonly lastError: { readonly message: string; readonly at: string } | undefined
  readonly details: Record<string, unknown> | undefined
  readonly breaker: BreakerSnapshot | undefined
  /** The last results, newest first. */
  readonly history: readonly CheckResult[]
}

export interface HealthReport {
  readonly status: 'up' | 'degraded' | 'down'
  readonly ready: boolean
  readonly live: boolean
  readonly started: boolean
  readonly eventLoopDelay: number
  readonly checks: readonly HealthCheckReport[]
}

export type HealthEvent =
  | { type: 'check-completed'; check: string; critical: boolean; result: CheckResult; previous: CheckStatus }
  | { type: 'breaker-changed'; check: string; from: BreakerState; to: BreakerState; snapshot: BreakerSnapshot }

const checkDefaults = { timeout: 2_000, interval: 10_000, retryInterval: 1_000, history: 10 }

/**
 * The health registry: every component's `health` hook and every `HealthChecks` contribution,
 * each run in the background on its own interval, concurrently, under its own timeout and
 * circuit breaker. Probes answer from the cached results, so they stay fast while a check
 * hangs; a result older than its staleness limit counts as unknown, never as a stale up.
 *
 * - liveness: the event loop is responsive, whatever the dependencies;
 * - readiness: boot finished, not shutting down, every critical check up (or degraded);
 * - startup: boot finished.
 *
 * Checks start when the app becomes ready and stop with the app. Servers get the registry
 * through the `Health` token.
 *
 * @example
 * component('probe-server', {
 *   eager: true,
 *   deps: { health: Health },
 *   create: ({ health }) => http.createServer((req, res) => {
 *     const probe = health.readiness()
 *     res.writeHead(probe.ok ? 200 : 503).end(JSON.stringify(probe))
 *   }),
 * })
 */
export class HealthRegistry {
  readonly events = new EventStream<HealthEvent>()
  readonly #app: HealthSubject
  readonly #contributed: readonly HealthCheck[]
  readonly #options: HealthOptions
  readonly #now: () => number
  readonly #loop: LoopMonitor
  readonly #runners = new Map<string, CheckRunner>()
  #booted = false
  #unsubscribe: (() => void) | undefined

  constructor(app: HealthSubject, checks: readonly HealthCheck[] = [], options: HealthOptions = {}) {
    this.#app = app
    this.#contributed = checks
    this.#options = options
    this.#now = options.now ?? (() => performance.timeOrigin + performance.now())
    this.#loop = new LoopMonitor(options.eventLoop)
    this.#booted = app.timeline().some((e) => e.type === 'ready')
  }

  /**
   * Collects the checks (failing at once on a duplicate name), starts the event-loop monitor,
   * and schedules every check from the moment the app is ready.
   */
  start(): void {
    if (this.#unsubscribe) return
    this.#collect()
    this.#loop.start()
    const begin = () => {
      this.#booted = true
      for (const runner of this.#runners.values()) {
        runner.schedule((result, previous) => this.events.emit({ type: 'check-completed', check: runner.name, critical: runner.critical, result, previous }))
      }
    }
    this.#unsubscribe = this.#app.events.subscribe((event) => {
      if (event.type === 'ready') begin()
    })
    if (this.#booted) begin()
  }

  /** Stops every check and the monitor; cached results stay readable. */
  stop(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#loop.stop()
    for (const runner of this.#runners.values()) runner.stop()
  }

  /** Names of every check, components' first. */
  names(): string[] {
    return [...this.#runners.keys()]
  }

  /** The circuit breaker of a check, for the component's own calls to share. */
  breaker(name: string): CircuitBreaker | undefined {
    return this.#runners.get(name)?.breaker
  }

  /** Runs every check (or the named ones) now and resolves when they have answered or timed out. */
  async checkNow(...names: string[]): Promise<void> {
    const runners = names.length === 0 ? [...this.#runners.values()] : names.map((name) => this.#runner(name))
    await Promise.all(
      runners.map(async (runner) => {
        const previous = runner.status()
        const result = await runner.run()
        this.events.emit({ type: 'check-completed', check: runner.name, critical: runner.critical, result, previous })
      }),
    )
  }

  /** The event loop answers within `maxEventLoopDelay`. */
  liveness(): ProbeResult {
    const delay = this.#loop.delay()
    const limit = this.#options.maxEventLoopDelay ?? 5_000
    return delay <= limit ? { ok: true, status: 'up' } : { ok: false, status: 'down', reasons: [`event loop blocked for ${Math.round(delay)} ms (limit ${limit} ms)`] }
  }

  /** Boot has finished. */
  startup(): ProbeResult {
    return this.#booted ? { ok: true, status: 'up' } : { ok: false, status: 'down', reasons: [`app is ${this.#app.state}`] }
  }

  /**
   * Boot finished, not shutting down, and no critical check down or unknown. Ready but degraded,
   * it says which checks are not up and why, a line each (`why: false` leaves out the why, for
   * a public probe that must not quote a dependency's errors).
   */
  readiness(options: { why?: boolean } = {}): ProbeResult {
    const reasons: string[] = []
    if (!this.#app.ready) reasons.push(this.#app.state === 'stopping' || this.#app.state === 'stopped' ? 'shutting down' : `app is ${this.#app.state}`)
    const degraded: string[] = []
    for (const runner of this.#runners.values()) {
      const status = runner.status()
      if (status === 'degraded' || (!runner.critical && status !== 'up')) degraded.push(`${runner.name} is ${status}${options.why === false ? '' : whyNotUp(runner)}`)
      else if (runner.critical && status !== 'up') reasons.push(`${runner.name} is ${status}`)
    }
    if (reasons.length > 0) return { ok: false, status: 'down', reasons }
    return degraded.length > 0 ? { ok: true, status: 'degraded', reasons: degraded } : { ok: true, status: 'up' }
  }

  /** Every check with its state, latency, last error, history and breaker. */
  report(): HealthReport {
    const readiness = this.readiness()
    const checks = [...this.#runners.values()].map((runner) => this.#reportOf(runner))
    return {
      status: readiness.ok ? readiness.status : 'down',
      ready: readiness.ok,
      live: this.liveness().ok,
      started: this.#booted,
      eventLoopDelay: Math.round(this.#loop.delay() * 10) / 10,
      checks,
    }
  }

  #reportOf(runner: CheckRunner): HealthCheckReport {
    const latest = runner.latest()
    const failure = runner.lastFailure()
    return {
      name: runner.name,
      source: runner.source,
      critical: runner.critical,
      status: runner.status(),
      latency: latest?.duration,
      checkedAt: latest ? new Date(latest.at).toISOString() : undefined,
      age: latest ? Math.max(0, this.#now() - latest.at) : undefined,
      pendingFor: runner.pending(),
      lastError: failure ? { message: failure.error ?? 'reported down', at: new Date(failure.at).toISOString() } : undefined,
      details: latest?.details,
      breaker: runner.breakerSnapshot(),
      history: runner.history(),
    }
  }

  #runner(name: string): CheckRunner {
    const runner = this.#runners.get(name)
    if (!runner) throw new PlinthError('PLINTH_ERR_INVALID_OPTION', `no health check named "${name}"; the checks are: ${this.names().join(', ') || '(none)'}`)
    return runner
  }

  #collect(): void {
    const defaults = { ...checkDefaults, ...this.#options.defaults }
    // Where each check comes from, formatted only for the error that names two (a site costs a source map to format).
    const sites = new Map<string, () => string>()
    const add = (check: HealthCheck, source: 'component' | 'check', site: () => string) => {
      const first = sites.get(check.name)
      if (first !== undefined) {
        throw new PlinthError('PLINTH_ERR_DUPLICATE_HEALTH_CHECK', `two health checks are named "${check.name}": ${first()} and ${site()}`)
      }
      sites.set(check.name, site)
      const runner = new CheckRunner(check, source, defaults, this.#now)
      runner.breaker?.onChange((from, to, snapshot) => this.events.emit({ type: 'breaker-changed', check: runner.name, from, to, snapshot }))
      this.#runners.set(check.name, runner)
    }
    for (const status of this.#app.components()) {
      const check = componentCheck(status)
      if (check) add(check, 'component', () => `component "${status.name}" (${status.site.toString()})`)
    }
    for (const check of this.#contributed) add(check, 'check', () => `a HealthChecks contribution`)
  }
}

/**
 * Why a check is not up, in one short line: the dependency's last error while its circuit is
 * open (not the breaker's own words), else the latest run's error or the reason in its details.
 */
function whyNotUp(runner: CheckRunner): string {
  const latest = runner.latest()
  const breaker = runner.breakerSnapshot()
  const reason = breaker && breaker.state !== 'closed' && breaker.lastError ? breaker.lastError : latest?.error ?? (typeof latest?.details?.reason === 'string' ? latest.details.reason : undefined)
  if (reason === undefined) return ''
  const line = reason.replaceAll('\n', ' ')
  return `: ${line.length > 200 ? `${line.slice(0, 199)}…` : line}`
}

/**
 * A component's check: its `health` hook while it runs; down with its start error when it was
 * optional and failed to start, so that /health says what is missing and why.
 */
function componentCheck(status: ComponentStatus): HealthCheck | undefined {
  const { reg } = status.node
  if (!reg.health && !reg.optional) return undefined
  return {
    name: status.name,
    critical: !reg.optional,
    check: (context) => {
      if (status.state === 'degraded' || status.state === 'failed') throw new Error(`failed to start: ${describe(status.error)}`)
      if (status.state !== 'started') throw new Error(`component is ${status.state}`)
      return reg.health ? reg.health(status.instance, context) : undefined
    },
  }
}

export type { CheckResult, CheckSettings, CheckStatus, HealthCheck } from './check.js'
