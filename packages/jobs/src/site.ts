/** Where a declaration was made, as "file:line", for errors that name it. */

/**
 * The caller of `fn` as "file:line:column", or "unknown location".
 *
 * @example
 * const site = captureSite(jobHandler) // "/app/src/modules/courses/jobs.ts:12:34"
 */
export function captureSite(fn: (...args: any[]) => unknown): string {
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, fn)
  const line = holder.stack?.split('\n')[1] ?? ''
  const match = /\(?((?:file:\/\/)?[^\s()]+:\d+:\d+)\)?\s*$/.exec(line)
  return match?.[1] ?? 'unknown location'
}
