import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Where a user declared something, as "file:line", so that errors can point at it (fx wraps
 * every failure with the call site in the same way). Capturing one frame costs a few
 * microseconds and happens once per declaration, never on a resolve.
 *
 * `skip` is the public API function the user called; the frame above it is the user's.
 */
export function captureSite(skip: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 1
  Error.captureStackTrace(holder, skip)
  Error.stackTraceLimit = limit
  const frame = holder.stack?.split('\n')[1] ?? ''
  const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?\s*$/.exec(frame)
  if (!match) return '<unknown>'
  let file = match[1] ?? ''
  if (file.startsWith('file://')) file = fileURLToPath(file)
  const rel = relative(process.cwd(), file)
  return `${rel.startsWith('..') ? file : rel}:${match[2]}`
}
