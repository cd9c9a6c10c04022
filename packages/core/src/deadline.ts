/**
 * Runs `fn` under a deadline. The signal given to `fn` fires when the deadline passes or `outer`
 * aborts, and the returned promise rejects at that moment even if `fn` ignores its signal, so a
 * hung hook cannot hold start-up past its deadline.
 *
 * @example
 * await withDeadline(5_000, undefined, () => new Error('too slow'), (signal) => fetch(url, { signal }))
 */
export async function withDeadline<T>(
  ms: number,
  outer: AbortSignal | undefined,
  onTimeout: () => Error,
  fn: (signal: AbortSignal) => T | Promise<T>,
): Promise<T> {
  const controller = new AbortController()
  const signal = outer ? AbortSignal.any([controller.signal, outer]) : controller.signal
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = onTimeout()
      controller.abort(error)
      reject(error)
    }, ms)
    if (outer) {
      onAbort = () => reject(outer.reason as Error)
      if (outer.aborted) onAbort()
      else outer.addEventListener('abort', onAbort, { once: true })
    }
  })
  try {
    return await Promise.race([Promise.resolve().then(() => fn(signal)), deadline])
  } finally {
    clearTimeout(timer)
    if (onAbort) outer?.removeEventListener('abort', onAbort)
  }
}
