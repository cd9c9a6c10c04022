/**
 * What went wrong while a file of the app was being imported, before Plinth could see any of
 * it: files that import each other in a circle (the usual way a dependency cycle is first written
 * in TypeScript, which ends in "Cannot access 'x' before initialization"), or a file that throws.
 * Both the `plinth` command and module discovery explain such failures here.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { PlinthError } from '../errors.js'
import { showPath, thrownAt, userFrame } from '../container/site.js'

/** V8's message for a binding read before its module has run: the mark of an import cycle. */
const UNINITIALIZED = /^Cannot access '([^']+)' before initialization$/

/**
 * The error to report for a failure thrown while importing `file`: PLINTH_ERR_IMPORT_CYCLE with
 * the circle of files when a binding was read too early, else `code` naming what was thrown and
 * where. `what` names the file for the message ("the app module src/app.ts").
 *
 * @example
 * try { await import(url) } catch (error) { throw loadFailure(error, 'PLINTH_ERR_APP_LOAD_FAILED', `the app module ${path}`) }
 */
export function loadFailure(error: unknown, code: 'PLINTH_ERR_APP_LOAD_FAILED' | 'PLINTH_ERR_MODULE_IMPORT_FAILED', what: string): PlinthError {
  if (error instanceof PlinthError) return error
  const cycle = importCycle(error)
  if (cycle) return cycle
  const at = thrownAt(error)
  const thrown = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const typescript = (error as { code?: unknown } | undefined)?.code === 'ERR_UNKNOWN_FILE_EXTENSION'
  return new PlinthError(code, `${what} could not be loaded: ${at ? `${at} threw` : 'it threw'} ${thrown}`, {
    cause: error,
    details: { thrownAt: at },
    ...(typescript ? { hint: 'TypeScript files load through tsx (`npm install -D tsx`, or `node --import tsx`); or point Plinth at the compiled JavaScript.' } : {}),
  })
}

/** PLINTH_ERR_IMPORT_CYCLE for a binding read before its file had run; undefined for any other error. */
export function importCycle(error: unknown): PlinthError | undefined {
  const name = error instanceof ReferenceError ? UNINITIALIZED.exec(error.message)?.[1] : undefined
  const frame = name === undefined ? undefined : userFrame(error)
  if (name === undefined || !frame) return undefined
  const at = `${showPath(frame.file)}:${frame.line}`
  const circle = findCircle(frame.file, name)
  const hint =
    `Let the dependency be read when the graph is built rather than when the file loads: \`deps: () => ({ ${name} })\` ` +
    `in place of \`deps: { ${name} }\` at ${at}; or declare the tokens in a file of their own that imports none of the files in the circle.`
  if (!circle) {
    return new PlinthError('PLINTH_ERR_IMPORT_CYCLE', `${at} reads "${name}" before the file that declares it has finished loading: the files import each other in a circle`, { cause: error, hint, details: { name, at } })
  }
  const path = [...circle, circle[0]!].map(showPath).join(' -> ')
  return new PlinthError(
    'PLINTH_ERR_IMPORT_CYCLE',
    `${at} reads "${name}" before ${showPath(circle[0]!)} has finished loading, because these files import each other in a circle:\n    ${path}`,
    { cause: error, hint, details: { name, at, files: [...circle, circle[0]!].map(showPath) } },
  )
}

/**
 * The circle of imports through `file`, starting at the file that declares `name` (the one still
 * loading): [declaring, ..., file]. Breadth-first, so the shortest circle.
 */
function findCircle(file: string, name: string): string[] | undefined {
  const imports = new Map<string, Map<string, string>>()
  const importsOf = (from: string) => {
    let found = imports.get(from)
    if (!found) imports.set(from, (found = relativeImports(from)))
    return found
  }
  // The import that brought `name` into `file` is tried first, so that the circle starts at the file declaring it.
  const mentions = new RegExp(`(?<![\\w$])${name.replaceAll('$', '\\$')}(?![\\w$])`)
  const firsts = [...importsOf(file)].sort(([, a], [, b]) => Number(mentions.test(b)) - Number(mentions.test(a))).map(([target]) => target)
  for (const first of firsts) {
    const previous = new Map<string, string | undefined>([[first, undefined]])
    const queue = [first]
    for (let i = 0; i < queue.length; i++) {
      const current = queue[i]!
      for (const next of importsOf(current).keys()) {
        if (next === file) {
          const circle = [current]
          for (let at = previous.get(current); at !== undefined; at = previous.get(at)) circle.unshift(at)
          return [...circle, file]
        }
        if (!previous.has(next)) {
          previous.set(next, current)
          queue.push(next)
        }
      }
    }
  }
  return undefined
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

// Import statements are found with a regular expression rather than a parser: Plinth carries no
// TypeScript compiler at run time, and only relative, value-level imports matter here (type-only
// ones are erased and cannot take part in a cycle at run time).
const IMPORT = /(?:^|[;\n])\s*(import|export)\s+(?!type\s)([^;'"]*?)\s*from\s*['"]([^'"]+)['"]|(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g

/** The files a file imports by relative path (resolved as TypeScript projects write them: `./x.js` for `x.ts`), each with its statement. */
function relativeImports(file: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const match of read(file).matchAll(IMPORT)) {
    const specifier = match[3] ?? match[4]
    const target = specifier?.startsWith('.') ? resolveSpecifier(resolve(dirname(file), specifier)) : undefined
    if (target) found.set(target, match[0])
  }
  return found
}

function resolveSpecifier(path: string): string | undefined {
  const stem = path.replace(/\.(?:[mc]?js|jsx)$/, '')
  const candidates = [path, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`, `${path}.ts`, `${path}.js`, `${path}/index.ts`, `${path}/index.js`]
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile())
}

/**
 * Until the app's entry point calls `run(app)`, an error thrown while its files load (an import
 * cycle, a file that throws) is reported as Plinth reports a load failure, with the circle of
 * files or the line that threw, instead of as a bare stack; the process then exits 1. Loading is
 * synchronous once it begins, so the watch ends at the next turn of the event loop at the latest.
 * A process that has its own handlers (a test runner) keeps them: nothing is added then.
 *
 * @example
 * const stop = watchLoading()
 * // ... the app's files are evaluated ...
 * stop()
 */
export function watchLoading(): () => void {
  if (process.listenerCount('uncaughtException') > 0) return () => {}
  const report = (error: unknown) => {
    stop()
    if (process.listenerCount('uncaughtException') > 0) return
    process.stderr.write(`${loadFailure(error, 'PLINTH_ERR_APP_LOAD_FAILED', 'the app').describe()}\n`)
    process.exit(1)
  }
  const stop = () => {
    process.removeListener('uncaughtException', report)
    clearImmediate(timer)
  }
  process.on('uncaughtException', report)
  const timer = setImmediate(stop)
  timer.unref()
  return stop
}
