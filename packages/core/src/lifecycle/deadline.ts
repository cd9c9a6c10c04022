/**
 * Runs `fn` under a deadline. The signal given to `fn` fires when the deadline passes or `outer`
 * aborts, and the returned promise rejects at that moment even if `fn` ignores its signal, so a
 * hung hook cannot hold start-up past its deadline. With `waitOnAbort`, an abort of `outer` only
 * fires the signal, and the promise still settles with `fn` (or at the deadline): the lifecycle
 * uses it so that a component whose start was interrupted is known to have started or not.
 *
 * @example
 * await withDeadline(5_000, undefined, () => new Error('too slow'), (signal) => fetch(url, { signal }))
 */
export async function withDeadline<T>(
  ms: number,
  outer: AbortSignal | undefined,
  onTimeout: () => Error,
  fn: (signal: AbortSignal) => T | Promise<T>,
  options: { waitOnAbort?: boolean } = {},
): Promise<T> {
  // One controller, aborted by a listener on `outer`: AbortSignal.any costs tens of microseconds a call on Node 20.
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let onOuterAbort: (() => void) | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = onTimeout()
      controller.abort(error)
      reject(error)
    }, ms)
    if (outer) {
      onOuterAbort = () => {
        controller.abort(outer.reason)
        if (!options.waitOnAbort) reject(outer.reason as Error)
      }
      if (outer.aborted) onOuterAbort()
      else outer.addEventListener('abort', onOuterAbort, { once: true })
    }
  })
  try {
    return await Promise.race([Promise.resolve().then(() => fn(controller.signal)), deadline])
  } finally {
    clearTimeout(timer)
    if (onOuterAbort) outer?.removeEventListener('abort', onOuterAbort)
  }
}
