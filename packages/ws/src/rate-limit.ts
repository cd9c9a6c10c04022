/** A per-connection message allowance: `messages` per `interval` milliseconds, with bursts up to `messages`. */
export interface RateLimit {
  readonly messages: number
  readonly interval: number
}

/**
 * A token bucket: it holds up to `messages` tokens and refills continuously, so a client may
 * burst up to the limit and then sustain the average rate, never more.
 */
export class TokenBucket {
  readonly #capacity: number
  readonly #perMs: number
  #tokens: number
  #at: number

  constructor(limit: RateLimit, now = performance.now()) {
    this.#capacity = limit.messages
    this.#perMs = limit.messages / limit.interval
    this.#tokens = limit.messages
    this.#at = now
  }

  /** Takes one token; false when the bucket is empty. */
  take(now = performance.now()): boolean {
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#perMs)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }

  /** Milliseconds until the next token. */
  retryAfter(): number {
    return Math.ceil(Math.max(0, 1 - this.#tokens) / this.#perMs)
  }
}
