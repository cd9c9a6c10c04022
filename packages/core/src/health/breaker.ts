import { PlinthError } from '../errors.js'

/** closed: calls go through; open: calls fail at once; half-open: a few trial calls decide. */
export type BreakerState = 'closed' | 'open' | 'half-open'

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 3. */
  failureThreshold?: number
  /** How long the circuit stays open before letting a trial call through, in milliseconds. Default 30 000. */
  resetTimeout?: number
  /** Trial calls allowed at once while half-open; as many successes close the circuit. Default 1. */
  halfOpenTrials?: number
  /** The clock, in milliseconds; injected by tests. Default `Date.now`. */
  now?: () => number
}

/** What a breaker shows in health details and logs. */
export interface BreakerSnapshot {
  readonly state: BreakerState
  /** Consecutive failures counted towards opening. */
  readonly failures: number
  /** When the circuit last opened (epoch ms), if it is open or half-open. */
  readonly openedAt: number | undefined
  /** When an open circuit lets the next trial through (epoch ms). */
  readonly retryAt: number | undefined
  readonly lastError: string | undefined
}

export type BreakerListener = (from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot) => void

/**
 * A circuit breaker (Nygard, "Release It!"): after `failureThreshold` consecutive failures the
 * circuit opens and calls fail at once, sparing a dependency that is down and the callers who
 * would wait on it; after `resetTimeout` a trial call goes through (half-open), and its outcome
 * closes or reopens the circuit. One breaker per dependency, shared by everything that calls
 * it: the health registry hands out the one of each check with `health.breaker(name)`.
 *
 * @example
 * const breaker = new CircuitBreaker('payments', { failureThreshold: 5, resetTimeout: 10_000 })
 * const receipt = await breaker.run(() => payments.charge(order))
 * breaker.onChange(logBreakerChanges('payments', log)) // its opening and recovery, not every trial
 */
export class CircuitBreaker {
  readonly name: string
  readonly #threshold: number
  readonly #resetTimeout: number
  readonly #trials: number
  readonly #now: () => number
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt: number | undefined
  #trialsInFlight = 0
  #trialSuccesses = 0
  #lastError: string | undefined
  #listeners: BreakerListener[] = []

  constructor(name: string, options: CircuitBreakerOptions = {}) {
    this.name = name
    this.#threshold = positive(options.failureThreshold ?? 3, 'failureThreshold', name)
    this.#resetTimeout = positive(options.resetTimeout ?? 30_000, 'resetTimeout', name)
    this.#trials = positive(options.halfOpenTrials ?? 1, 'halfOpenTrials', name)
    this.#now = options.now ?? Date.now
  }

  /** The current state; an open circuit whose reset timeout has passed reads as half-open. */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() >= (this.#openedAt ?? 0) + this.#resetTimeout) this.#move('half-open')
    return this.#state
  }

  snapshot(): BreakerSnapshot {
    const state = this.state
    return {
      state,
      failures: this.#failures,
      openedAt: state === 'closed' ? undefined : this.#openedAt,
      retryAt: state === 'open' ? (this.#openedAt ?? 0) + this.#resetTimeout : undefined,
      lastError: this.#lastError,
    }
  }

  /**
   * Takes a permit for one call: true when the call may go ahead (closed, or a free trial slot
   * while half-open). A caller that got true must report the outcome with `success()` or
   * `failure()`; `run()` does all three.
   */
  tryAcquire(): boolean {
    const state = this.state
    if (state === 'closed') return true
    if (state === 'open' || this.#trialsInFlight >= this.#trials) return false
    this.#trialsInFlight++
    return true
  }

  success(): void {
    if (this.#state === 'half-open') {
      this.#trialsInFlight = Math.max(0, this.#trialsInFlight - 1)
      if (++this.#trialSuccesses >= this.#trials) this.#move('closed')
      return
    }
    this.#failures = 0
  }

  failure(error?: unknown): void {
    this.#lastError = error === undefined ? this.#lastError : error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error)
    this.#failures++
    if (this.#state === 'half-open') {
      this.#trialsInFlight = Math.max(0, this.#trialsInFlight - 1)
      this.#move('open')
    } else if (this.#state === 'closed' && this.#failures >= this.#threshold) {
      this.#move('open')
    }
  }

  /**
   * Runs `call` through the breaker: rejects at once with PLINTH_ERR_CIRCUIT_OPEN while the
   * circuit is open, otherwise records the call's outcome.
   */
  async run<T>(call: () => T | Promise<T>): Promise<T> {
    if (!this.tryAcquire()) {
      const { retryAt, lastError } = this.snapshot()
      const when = retryAt === undefined ? 'once a trial call finishes' : `at ${new Date(retryAt).toISOString()}`
      throw new PlinthError('PLINTH_ERR_CIRCUIT_OPEN', `the "${this.name}" circuit is open after ${this.#failures} failures (last: ${lastError ?? 'unknown'}); it lets a trial call through ${when}`, {
        details: { breaker: this.name, retryAt },
      })
    }
    try {
      const result = await call()
      this.success()
      return result
    } catch (error) {
      this.failure(error)
      throw error
    }
  }

  /** Hears every state change; returns a function that stops listening. */
  onChange(listener: BreakerListener): () => void {
    this.#listeners = [...this.#listeners, listener]
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener)
    }
  }

  /** Closes the circuit and forgets failures (an operator's manual reset). */
  reset(): void {
    this.#failures = 0
    this.#move('closed')
  }

  #move(to: BreakerState): void {
    const from = this.#state
    if (from === to) return
    this.#state = to
    this.#trialsInFlight = 0
    this.#trialSuccesses = 0
    if (to === 'open') this.#openedAt = this.#now()
    if (to === 'closed') {
      this.#failures = 0
      this.#openedAt = undefined
    }
    const snapshot = this.snapshot()
    for (const listener of this.#listeners) listener(from, to, snapshot)
  }
}

function positive(value: number, option: string, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new PlinthError('PLINTH_ERR_INVALID_OPTION', `circuit breaker "${name}": ${option} must be a positive number; got ${value}`, {
      hint: `Pass a positive ${option}, or leave it out for the default.`,
    })
  }
  return value
}
