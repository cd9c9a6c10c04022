export interface LoopMonitorOptions {
  /** How often the loop is sampled, in milliseconds. Default 500. */
  sampleInterval?: number
  /** Samples kept; the largest delay among them is the one reported. Default 10 (5 s at 500 ms). */
  window?: number
  /** The clock, in milliseconds. Default `performance.now`. */
  now?: () => number
}

/**
 * Measures how late the event loop runs a timer: a timer due every `sampleInterval` ms that
 * fires late by d ms means the loop was blocked for about d ms. The delay reported covers the
 * last `window` samples and also the time the current sample is overdue, so a loop blocked
 * right now reads as blocked as soon as anything gets to ask. Its timer is unref'd: it never
 * keeps a process alive.
 *
 * A timer's drift, not perf_hooks.monitorEventLoopDelay: the histogram needs a reset per window
 * and says nothing while the loop is stuck, which is exactly when liveness is asked.
 *
 * @example
 * const loop = new LoopMonitor().start()
 * if (loop.delay() > 5_000) log.warn('event loop blocked')
 * loop.stop()
 */
export class LoopMonitor {
  readonly #interval: number
  readonly #window: number
  readonly #now: () => number
  readonly #samples: number[] = []
  #timer: NodeJS.Timeout | undefined
  #expected = 0

  constructor(options: LoopMonitorOptions = {}) {
    this.#interval = options.sampleInterval ?? 500
    this.#window = options.window ?? 10
    this.#now = options.now ?? (() => performance.now())
  }

  get running(): boolean {
    return this.#timer !== undefined
  }

  start(): this {
    if (this.#timer) return this
    this.#expected = this.#now() + this.#interval
    this.#timer = setInterval(() => this.#sample(), this.#interval)
    this.#timer.unref()
    return this
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#samples.length = 0
  }

  /** The largest delay of the window, or how overdue the next sample is if that is larger, in milliseconds. */
  delay(): number {
    const overdue = this.#timer ? Math.max(0, this.#now() - this.#expected) : 0
    let max = overdue
    for (const sample of this.#samples) if (sample > max) max = sample
    return max
  }

  #sample(): void {
    const now = this.#now()
    this.#samples.push(Math.max(0, now - this.#expected))
    if (this.#samples.length > this.#window) this.#samples.shift()
    this.#expected = now + this.#interval
  }
}
