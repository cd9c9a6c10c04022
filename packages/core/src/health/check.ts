import { CircuitBreaker, type BreakerSnapshot, type CircuitBreakerOptions } from './breaker.js'
import { PlinthError } from '../errors.js'
import type { HealthContext, HealthResult, HealthStatus } from '../container/provider.js'

/** A check's state as probes see it: a status, or unknown when no fresh result exists. */
export type CheckStatus = HealthStatus | 'unknown'

/**
 * A health check contributed through the `HealthChecks` token, besides the `health` hooks of
 * components.
 *
 * @example
 * export const upstreamCheck = provide(HealthChecks, {
 *   deps: { client: PaymentsClient },
 *   create: ({ client }) => ({
 *     name: 'payments-api',
 *     critical: false,
 *     timeout: 1_000,
 *     check: async ({ signal }) => ((await client.ping(signal)) ? 'up' : 'down'),
 *   }),
 * })
 */
export interface HealthCheck extends CheckSettings {
  /** Unique within the app; it labels the check's metrics and its entry in /health. */
  readonly name: string
  /** Resolves (or returns) nothing for up, a status, or a status with details; a throw is down. */
  check(context: HealthContext): HealthResult | Promise<HealthResult>
  /** Readiness waits for every critical check to be up. Default true. */
  readonly critical?: boolean
}

/** Timing of a check; the registry's defaults apply where a check sets none. */
export interface CheckSettings {
  /** Deadline of one run, in milliseconds; past it the run counts as down and its signal aborts. Default 2 000. */
  readonly timeout?: number
  /** Time between the end of one run and the start of the next, in milliseconds. Default 10 000. */
  readonly interval?: number
  /**
   * Time between runs while the check is failing, in milliseconds, so that its circuit opens
   * within seconds and a recovery is seen within about this long. Default 1 000.
   */
  readonly retryInterval?: number
  /** Age past which a result counts as unknown, in milliseconds. Default 2 x interval + timeout. */
  readonly staleAfter?: number
  /** Results kept per check. Default 10. */
  readonly history?: number
  /** The check's circuit breaker, or false for none. Default: 3 consecutive failures open it; a trial run after `retryInterval`. */
  readonly breaker?: CircuitBreakerOptions | false
}

/** One run of a check. */
export interface CheckResult {
  readonly status: HealthStatus
  /** When the run finished, epoch milliseconds. */
  readonly at: number
  /** How long it took, in milliseconds. */
  readonly duration: number
  readonly error?: string
  readonly details?: Record<string, unknown>
}

const statuses = new Set<string>(['up', 'degraded', 'down'])

/** A run that found the dependency failing: down, or another status that carries an error. */
export const failed = (result: CheckResult): boolean => result.status === 'down' || result.error !== undefined

/** A check's result normalised: nothing is up, a string is a status, an object carries details. */
export function normaliseResult(raw: HealthResult): { status: HealthStatus; details?: Record<string, unknown>; error?: string } {
  if (raw === undefined) return { status: 'up' }
  if (typeof raw === 'string' && statuses.has(raw)) return { status: raw }
  if (typeof raw === 'object' && raw !== null && statuses.has((raw as { status: string }).status)) return raw
  return { status: 'down', details: { invalidResult: JSON.stringify(raw) ?? typeof raw } }
}

/**
 * Runs one check: under its timeout, through its circuit breaker, keeping its last results.
 * Runs never overlap: while one is in flight, asking again joins it.
 */
export class CheckRunner {
  readonly name: string
  readonly critical: boolean
  readonly source: 'component' | 'check'
  readonly breaker: CircuitBreaker | undefined
  readonly timeout: number
  readonly interval: number
  readonly retryInterval: number
  readonly staleAfter: number
  readonly #check: HealthCheck['check']
  readonly #keep: number
  readonly #history: CheckResult[] = []
  readonly #now: () => number
  #inFlight: Promise<CheckResult> | undefined
  #runStarted = 0
  #timer: NodeJS.Timeout | undefined
  #scheduled = false
  #tick: (() => void) | undefined
  #controller: AbortController | undefined
  #lastFailure: CheckResult | undefined

  constructor(check: HealthCheck, source: 'component' | 'check', defaults: Required<Omit<CheckSettings, 'breaker' | 'staleAfter'>> & CheckSettings, now: () => number) {
    this.name = check.name
    this.critical = check.critical ?? true
    this.source = source
    this.#check = check.check.bind(check)
    this.timeout = check.timeout ?? defaults.timeout
    this.interval = check.interval ?? defaults.interval
    this.retryInterval = Math.min(this.interval, check.retryInterval ?? defaults.retryInterval)
    this.staleAfter = check.staleAfter ?? defaults.staleAfter ?? 2 * this.interval + this.timeout
    this.#keep = Math.max(1, check.history ?? defaults.history)
    this.#now = now
    const breaker = check.breaker === undefined ? defaults.breaker : check.breaker
    // A trial run once per retry interval while open: a recovery shows within about that long.
    this.breaker = breaker === false ? undefined : new CircuitBreaker(check.name, { resetTimeout: this.retryInterval, ...breaker, now })
  }

  /** Newest first. */
  history(): readonly CheckResult[] {
    return [...this.#history].reverse()
  }

  latest(): CheckResult | undefined {
    return this.#history.at(-1)
  }

  lastFailure(): CheckResult | undefined {
    return this.#lastFailure
  }

  /** The latest result's status, or unknown when there is none or it is older than `staleAfter`. */
  status(): CheckStatus {
    const latest = this.latest()
    if (!latest || this.#now() - latest.at > this.staleAfter) return 'unknown'
    return latest.status
  }

  /** Whether a run is in flight, and for how long it has been. */
  pending(): number | undefined {
    return this.#inFlight ? this.#now() - this.#runStarted : undefined
  }

  breakerSnapshot(): BreakerSnapshot | undefined {
    return this.breaker?.snapshot()
  }

  run(): Promise<CheckResult> {
    this.#inFlight ??= this.#run().finally(() => (this.#inFlight = undefined))
    return this.#inFlight
  }

  /**
   * Runs now, then again `interval` after each run ends (`retryInterval` after a failed one),
   * until `stop()`. A run asked for in between (checkNow) that fails brings the next one forward.
   */
  schedule(onResult: (result: CheckResult, previous: CheckStatus) => void): void {
    if (this.#scheduled) return
    this.#scheduled = true
    this.#tick = () => {
      const previous = this.status()
      void this.run().then((result) => {
        if (!this.#scheduled) return
        onResult(result, previous)
        this.#plan(result)
      })
    }
    this.#tick()
  }

  #plan(result: CheckResult): void {
    if (!this.#scheduled || this.#tick === undefined) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(this.#tick, failed(result) ? this.retryInterval : this.interval).unref()
  }

  stop(): void {
    this.#scheduled = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#controller?.abort(new PlinthError('PLINTH_ERR_INVALID_STATE', `health check "${this.name}" stopped: the app is shutting down`))
  }

  async #run(): Promise<CheckResult> {
    const began = this.#now()
    this.#runStarted = began
    if (this.breaker && !this.breaker.tryAcquire()) {
      const { retryAt, lastError } = this.breaker.snapshot()
      const error = `circuit open; not checked until ${retryAt === undefined ? 'a trial finishes' : new Date(retryAt).toISOString()} (last error: ${lastError ?? 'unknown'})`
      // The status the failures had: an optional dependency stays degraded, not down, while its circuit is open.
      return this.#record({ status: this.#lastFailure?.status ?? 'down', at: began, duration: 0, error })
    }
    const controller = (this.#controller = new AbortController())
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new PlinthError('PLINTH_ERR_HEALTH_CHECK_TIMEOUT', `health check "${this.name}" did not answer within ${this.timeout} ms`)
        controller.abort(error)
        reject(error)
      }, this.timeout)
      timer.unref()
    })
    let result: CheckResult
    try {
      // A check that throws synchronously is down like one that rejects.
      const outcome = normaliseResult(await Promise.race([Promise.resolve().then(() => this.#check({ signal: controller.signal })), deadline]))
      const finished = this.#now()
      result = { status: outcome.status, at: finished, duration: finished - began, ...(outcome.details ? { details: outcome.details } : {}), ...(outcome.error === undefined ? {} : { error: outcome.error }) }
    } catch (error) {
      const finished = this.#now()
      result = { status: 'down', at: finished, duration: finished - began, error: message(error) }
    } finally {
      clearTimeout(timer)
    }
    if (failed(result)) this.breaker?.failure(result.error ?? 'reported down')
    else this.breaker?.success()
    this.#record(result)
    if (failed(result)) this.#plan(result)
    return result
  }

  #record(result: CheckResult): CheckResult {
    this.#history.push(result)
    if (this.#history.length > this.#keep) this.#history.shift()
    if (failed(result)) this.#lastFailure = result
    return result
  }
}

function message(error: unknown): string {
  if (error instanceof PlinthError) return error.message
  if (error instanceof Error) return error.message || error.name
  return String(error)
}
