/** Retry policy: exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"). */
export interface RetryOptions {
  /** Total attempts, the first included. Default 3. */
  attempts?: number
  /** Delay before the first retry, in milliseconds. Default 100. */
  initialDelay?: number
  /** Upper bound of any delay, in milliseconds. Default 5 000. */
  maxDelay?: number
  /** Growth of the delay per attempt. Default 2. */
  factor?: number
  /** Randomise each delay between 0 and its computed value, so that instances do not retry in step. Default true. */
  jitter?: boolean
}

export interface ResolvedRetry {
  attempts: number
  initialDelay: number
  maxDelay: number
  factor: number
  jitter: boolean
}

export function resolveRetry(retry: number | RetryOptions | undefined): ResolvedRetry {
  const options = typeof retry === 'number' ? { attempts: retry } : (retry ?? { attempts: 1 })
  return {
    attempts: Math.max(1, Math.floor(options.attempts ?? 3)),
    initialDelay: options.initialDelay ?? 100,
    maxDelay: options.maxDelay ?? 5_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? true,
  }
}

/**
 * The delay before retry number `retry` (1 for the first retry).
 *
 * @example
 * backoffDelay({ attempts: 5, initialDelay: 100, maxDelay: 5_000, factor: 2, jitter: false }, 3) // 400
 */
export function backoffDelay(policy: ResolvedRetry, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** (retry - 1))
  return policy.jitter ? Math.round(random() * ceiling) : ceiling
}

/**
 * Resolves after `ms`, or rejects with the signal's reason once it aborts.
 *
 * @example
 * await sleep(250, AbortSignal.timeout(1_000))
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Runs `attempt` until it succeeds or the policy's attempts are spent, waiting with backoff
 * between tries. `onRetry` hears about each failure that will be retried.
 *
 * @example
 * const conn = await retry((n) => connect(url), { attempts: 5, initialDelay: 200 })
 */
export async function retry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: number | RetryOptions = {},
  hooks: { signal?: AbortSignal; onRetry?: (error: unknown, attemptNumber: number, delay: number) => void } = {},
): Promise<T> {
  const policy = resolveRetry(options)
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      if (n >= policy.attempts || hooks.signal?.aborted) throw error
      const delay = backoffDelay(policy, n)
      hooks.onRetry?.(error, n, delay)
      await sleep(delay, hooks.signal)
    }
  }
}
