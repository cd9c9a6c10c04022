/**
 * Diagnostics: what each rule finds. Threshold rules are checked against every reading as it is
 * stored (in the same transaction); silence rules by a watcher on an interval.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from '@plinth/core'
import { Unavailable } from '../../errors.js'
import type { Finding, Reading, Rule } from './model.js'

/**
 * The findings of threshold rules for new readings: a reading of the rule's metric above
 * `above` or below `below`.
 *
 * @example
 * thresholdFindings([{ device: 'd1', metric: 'temperature', value: 91, timestamp }], rules)
 * // [{ kind: 'threshold', message: 'temperature 91 is above 80', value: 91, ... }]
 */
export function thresholdFindings(readings: readonly Reading[], rules: readonly Rule[]): Finding[] {
  const findings: Finding[] = []
  for (const reading of readings) {
    for (const rule of rules) {
      if (rule.kind !== 'threshold' || rule.device !== reading.device || rule.metric !== reading.metric) continue
      const breach =
        rule.above !== undefined && reading.value > rule.above ? `above ${rule.above}` : rule.below !== undefined && reading.value < rule.below ? `below ${rule.below}` : undefined
      if (breach === undefined) continue
      findings.push({
        id: randomUUID(),
        device: reading.device,
        rule: rule.id,
        kind: 'threshold',
        message: `${reading.metric} ${reading.value} is ${breach}`,
        value: reading.value,
        observedAt: reading.timestamp,
        raisedAt: new Date().toISOString(),
      })
    }
  }
  return findings
}

/**
 * The findings of silence rules at `now`: a device unheard for longer than the rule allows,
 * counted from its last reading, or from when the rule was made if that is later. The finding
 * is keyed by that moment, so one silence is found once however often the watcher looks.
 *
 * @example
 * silenceFindings(rules, new Map([['d1', '2024-05-01T12:00:00.000Z']]), Date.parse('2024-05-01T12:10:00Z'))
 */
export function silenceFindings(rules: readonly Rule[], lastHeard: ReadonlyMap<string, string>, now: number): Finding[] {
  const findings: Finding[] = []
  for (const rule of rules) {
    if (rule.kind !== 'silence') continue
    const heard = lastHeard.get(rule.device)
    const since = heard !== undefined && heard > rule.createdAt ? heard : rule.createdAt
    if (now - Date.parse(since) <= rule.seconds * 1_000) continue
    const what = heard !== undefined && heard === since ? `its last reading at ${since}` : `the rule was set at ${since}`
    findings.push({
      id: randomUUID(),
      device: rule.device,
      rule: rule.id,
      kind: 'silence',
      message: `no data for more than ${rule.seconds} s since ${what}`,
      value: null,
      observedAt: since,
      raisedAt: new Date(now).toISOString(),
    })
  }
  return findings
}

/**
 * Runs `detect` every `interval` milliseconds, one run at a time, from start to stop. A
 * database that is down is waited out quietly (the health check already says so).
 */
export class SilenceWatch {
  readonly #detect: () => Promise<unknown>
  readonly #interval: number
  readonly #log: Logger
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> = Promise.resolve()
  #stopped = true

  constructor(detect: () => Promise<unknown>, interval: number, log: Logger) {
    this.#detect = detect
    this.#interval = interval
    this.#log = log
  }

  start(): void {
    this.#stopped = false
    this.#schedule()
  }

  /** Stops looking; resolves once a run in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.#detect()
        .then(
          () => undefined,
          (error: unknown) => {
            if (error instanceof Unavailable) this.#log.debug('silence check skipped: the database is unavailable')
            else this.#log.warn({ err: error }, 'silence check failed')
          },
        )
        .finally(() => this.#schedule())
    }, this.#interval)
  }
}
