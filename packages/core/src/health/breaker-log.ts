import type { BreakerListener } from './breaker.js'
import type { Logger } from '../logging/logger.js'

export interface BreakerLogOptions {
  /** Fields added to every line (the check, the service). */
  readonly fields?: Record<string, unknown>
  /** Least time between two "still unavailable" warnings while the circuit stays open, in milliseconds. Default 60 000. */
  readonly reminderInterval?: number
  /** The clock, in milliseconds; injected by tests. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * A breaker listener that logs an outage, not every transition: the opening once (warn, with the
 * last error and when the next trial goes through), the recovery once (info, with how long the
 * circuit was open), and the trials in between at debug. A dependency that stays down retries
 * once a second or so for hours; a warning per trial would bury every other line, so while it
 * stays down a "still unavailable" warning, with the count of failed trials, comes at most once
 * per `reminderInterval`.
 *
 * @example
 * const breaker = new CircuitBreaker('payments', { resetTimeout: 10_000 })
 * breaker.onChange(logBreakerChanges('payments', log))
 */
export function logBreakerChanges(name: string, log: Logger | undefined, options: BreakerLogOptions = {}): BreakerListener {
  const now = options.now ?? Date.now
  const every = options.reminderInterval ?? 60_000
  const fields = options.fields ?? {}
  let since: number | undefined
  let lastWarned = 0
  let failedTrials = 0
  return (from, to, snapshot) => {
    if (!log) return
    const at = now()
    const last = snapshot.lastError ?? 'unknown'
    const next = snapshot.retryAt === undefined ? 'once a trial finishes' : `at ${new Date(snapshot.retryAt).toISOString()}`
    const details = { ...fields, breaker: name, state: to, failures: snapshot.failures, lastError: snapshot.lastError }
    if (to === 'closed') {
      if (since === undefined) return log.debug(details, `${name}: circuit ${from} -> closed`)
      const trials = failedTrials > 0 ? ` (${failedTrials} trial${failedTrials === 1 ? '' : 's'} failed meanwhile)` : ''
      log.info({ ...details, openFor: at - since, failedTrials }, `${name}: circuit closed again after ${duration(at - since)}${trials}`)
      since = undefined
      failedTrials = 0
      return
    }
    if (to === 'half-open') return log.debug(details, `${name}: circuit half-open; letting a trial call through`)
    // Opened: from closed the outage begins; from half-open a trial failed and it goes on.
    if (from === 'closed' || since === undefined) {
      since = at
      lastWarned = at
      failedTrials = 0
      return log.warn({ ...details, retryAt: snapshot.retryAt }, `${name}: circuit open after ${snapshot.failures} consecutive failures (last: ${last}); next trial ${next}`)
    }
    failedTrials++
    if (at - lastWarned < every) return log.debug({ ...details, failedTrials }, `${name}: trial failed; circuit open again, next trial ${next}`)
    lastWarned = at
    log.warn({ ...details, failedTrials, openFor: at - since, retryAt: snapshot.retryAt }, `${name}: still unavailable after ${duration(at - since)}, ${failedTrials} failed trial${failedTrials === 1 ? '' : 's'} (last: ${last}); next trial ${next}`)
  }
}

function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1_000)
  return minutes < 60 ? `${minutes} min ${seconds} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}
