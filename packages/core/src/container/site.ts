import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Where a user declared something, so that errors can point at it (fx wraps every failure with
 * the call site in the same way). The stack is captured at declaration, which is cheap; it is
 * formatted to "file:line" only when an error or report prints it, because formatting (with
 * source maps on) costs tens of microseconds and most sites are never printed.
 *
 * @example
 * for (const c of app.components()) console.log(c.name, String(c.site)) // db src/db.ts:8
 */
export class Site {
  readonly #holder: { stack?: string }
  #text: string | undefined

  /** @internal */
  constructor(holder: { stack?: string }) {
    this.#holder = holder
  }

  /** "file:line", relative to the working directory when inside it. */
  toString(): string {
    return (this.#text ??= format(this.#holder.stack))
  }

  toJSON(): string {
    return this.toString()
  }
}

/** Captures the caller of `skip` (the public API function the user called). */
export function captureSite(skip: (...args: never[]) => unknown): Site {
  const holder: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 1
  Error.captureStackTrace(holder, skip)
  Error.stackTraceLimit = limit
  return new Site(holder)
}

function format(stack: string | undefined): string {
  const frame = stack?.split('\n')[1] ?? ''
  const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?\s*$/.exec(frame)
  if (!match) return '<unknown>'
  let file = match[1] ?? ''
  if (file.startsWith('file://')) file = fileURLToPath(file)
  const rel = relative(process.cwd(), file)
  return `${rel.startsWith('..') ? file : rel}:${match[2]}`
}
