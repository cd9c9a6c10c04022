import { readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { dirname, relative, resolve } from 'node:path'
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
  const frame = parseFrame(stack?.split('\n')[1] ?? '')
  return frame ? showFrame(frame) : '<unknown>'
}

/** Plinth core's own files (built and source), whose frames are never the user's line. */
const OWN = ['dist', 'src'].map((dir) => fileURLToPath(new URL(`../../${dir}/`, import.meta.url)))

const FRAME = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/

/** A place in a file: the absolute path and the line. */
export interface Frame {
  readonly file: string
  readonly line: number
}

function parseFrame(frame: string): Frame | undefined {
  const match = FRAME.exec(frame)
  if (!match) return undefined
  const file = match[1] ?? ''
  return original(file.startsWith('file://') ? fileURLToPath(file) : file, Number(match[2]), Number(match[3]))
}

/**
 * A compiled file's place, mapped to the source the user wrote through the file's source map
 * (`dist/app.js.map`, as tsc writes it with `sourceMap`). Node maps stacks itself when source
 * maps are on (`plinth`, tsx, `--enable-source-maps`); an app started as `node dist/main.js`
 * has them off, so its sites are mapped here, and only when printed.
 */
function original(file: string, line: number, column: number): Frame {
  if (!/\.[cm]?js$/.test(file) || file.includes('node_modules')) return { file, line }
  const map = sourceMapOf(file)
  const entry = map?.findEntry(line - 1, column - 1)
  if (!map || !entry || !('originalSource' in entry) || !entry.originalSource) return { file, line }
  const source = entry.originalSource
  const mapDir = dirname(map.file)
  return { file: source.startsWith('file://') ? fileURLToPath(source) : resolve(mapDir, map.payload.sourceRoot || '', source), line: entry.originalLine + 1 }
}

const maps = new Map<string, (SourceMap & { file: string }) | undefined>()

/** The source map a compiled file names in its `//# sourceMappingURL=` comment, when it has one beside it. */
function sourceMapOf(file: string): (SourceMap & { file: string }) | undefined {
  if (maps.has(file)) return maps.get(file)
  let map: (SourceMap & { file: string }) | undefined
  try {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(file, 'utf8'))?.[1]
    if (url && !url.startsWith('data:')) {
      const mapFile = url.startsWith('file://') ? fileURLToPath(url) : resolve(dirname(file), url)
      map = Object.assign(new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]), { file: mapFile })
    }
  } catch {
    map = undefined // no map, or one that cannot be read: the compiled line is the best there is
  }
  maps.set(file, map)
  return map
}

/** A file path as reports print it: relative to the working directory when inside it. */
export function showPath(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel.startsWith('..') ? file : rel
}

const showFrame = (frame: Frame): string => `${showPath(frame.file)}:${frame.line}`

/**
 * Where an error was thrown in the user's code: the first frame of its stack outside Node's
 * internals, dependencies and Plinth's own files. Stacks are source-mapped when source maps are
 * on (tsx, or `plinth`, which turns them on), so this names the TypeScript file.
 */
export function userFrame(error: unknown): Frame | undefined {
  const stack = error instanceof Error ? error.stack : undefined
  for (const line of stack?.split('\n').slice(1) ?? []) {
    if (!line.trimStart().startsWith('at ') || line.includes('node:') || line.includes('node_modules') || OWN.some((dir) => line.includes(dir))) continue
    const frame = parseFrame(line)
    if (frame) return frame
  }
  return undefined
}

/**
 * {@link userFrame} as "file:line", for messages.
 *
 * @example
 * try { await import('./mailer.js') } catch (error) { console.error(thrownAt(error)) } // src/mailer.ts:4
 */
export function thrownAt(error: unknown): string | undefined {
  const frame = userFrame(error)
  return frame ? showFrame(frame) : undefined
}
