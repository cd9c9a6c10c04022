/** Whether the error, or one it wraps, is V8's "Maximum call stack size exceeded". */
export function isStackOverflow(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error && /call stack size exceeded/i.test(e.message)) return true
  }
  return false
}

/** A one-line reason for a failure; a RangeError from recursion is "stack overflow". */
export function describeFailure(error: unknown): string {
  if (isStackOverflow(error)) return 'stack overflow'
  return error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error)
}
