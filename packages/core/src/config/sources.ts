/**
 * Reading the configuration sources: `config/<APP_ENV>.{json,yaml,yml}`, `.env` and CLI flags.
 * Everything here only reads; loading configuration never writes a file.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { PlinthError } from '../errors.js'
import { envName, isPlainObject, type Plain } from './keys.js'

export interface ConfigFile {
  /** As shown in messages and `sources`: `config/production.yaml`. */
  readonly label: string
  readonly file: string
  readonly values: Plain
}

/** Reads `config/<appEnv>.json`, `.yaml` or `.yml` from `cwd`; none is fine, two is ambiguous. */
export async function readConfigFile(cwd: string, appEnv: string): Promise<ConfigFile | undefined> {
  const candidates = ['json', 'yaml', 'yml'].map((ext) => ({ label: `config/${appEnv}.${ext}`, file: join(cwd, 'config', `${appEnv}.${ext}`), ext }))
  const texts = await Promise.all(candidates.map((candidate) => readOptional(candidate.file)))
  const found = candidates.flatMap((candidate, index) => {
    const text = texts[index]
    return text === undefined ? [] : [{ ...candidate, text }]
  })
  if (found.length > 1) {
    throw new PlinthError('PLINTH_ERR_INVALID_CONFIG', `${found.map((f) => f.label).join(' and ')} both exist in ${cwd}; only one configuration file per environment is read`, {
      hint: 'Keep one of them, so that which values apply is never a guess.',
      details: { files: found.map((f) => f.file) },
    })
  }
  const [chosen] = found
  if (!chosen) return undefined
  const parsed = chosen.ext === 'json' ? parseJson(chosen.text, chosen.label, chosen.file) : await parseYaml(chosen.text, chosen.label, chosen.file)
  // An empty YAML file is a file with nothing to say, not an error.
  if (parsed === null || parsed === undefined) return { label: chosen.label, file: chosen.file, values: {} }
  if (!isPlainObject(parsed)) {
    throw malformed(chosen.label, chosen.file, 1, 1, `the top level must be a mapping of keys to values, not ${Array.isArray(parsed) ? 'a list' : typeof parsed}`)
  }
  return { label: chosen.label, file: chosen.file, values: parsed }
}

/** Reads `.env` from `cwd`, parsed by Node itself so that its quoting rules are Node's. */
export async function readDotEnv(cwd: string): Promise<{ file: string; values: Record<string, string> } | undefined> {
  const file = join(cwd, '.env')
  const text = await readOptional(file)
  if (text === undefined) return undefined
  const values: Record<string, string> = {}
  for (const [key, value] of Object.entries(parseEnv(text))) if (value !== undefined) values[key] = value
  return { file, values }
}

export interface Flag {
  readonly path: string
  readonly raw: string
  /** As shown in messages and `sources`: `--http.port`. */
  readonly label: string
}

/**
 * `--http.port=8001` and `--http.port 8001`; a flag followed by another flag or by nothing is
 * `true`. Words that are not flags are the command's business, not configuration, and `--`
 * ends the flags as it does for every Unix tool.
 */
export function parseFlags(argv: readonly string[]): Flag[] {
  const flags: Flag[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') break
    if (!arg.startsWith('--') || arg.length === 2) continue
    const body = arg.slice(2)
    const eq = body.indexOf('=')
    if (eq >= 0) {
      flags.push({ path: body.slice(0, eq), raw: body.slice(eq + 1), label: `--${body.slice(0, eq)}` })
      continue
    }
    const next = argv[i + 1]
    if (next !== undefined && !next.startsWith('--')) {
      flags.push({ path: body, raw: next, label: `--${body}` })
      i++
    } else {
      flags.push({ path: body, raw: 'true', label: `--${body}` })
    }
  }
  return flags
}

/**
 * Which env var sets which key path: the automatic SNAKE_UPPER name of every known key path,
 * then the explicit map, which wins where both name the same variable.
 */
export function envBindings(explicit: Readonly<Record<string, string>>, knownPaths: Iterable<string>): Map<string, string> {
  const bindings = new Map<string, string>()
  for (const path of knownPaths) {
    const name = envName(path)
    // Two paths with one env name (`http.port`, `httpPort`): the first declared keeps it.
    if (!bindings.has(name)) bindings.set(name, path)
  }
  for (const [name, path] of Object.entries(explicit)) bindings.set(name, path)
  return bindings
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new PlinthError('PLINTH_ERR_INVALID_CONFIG', `cannot read ${file}: ${(error as Error).message}`, {
      hint: 'Make the file readable by the user the service runs as, or remove it.',
      cause: error,
      details: { file },
    })
  }
}

async function parseYaml(text: string, label: string, file: string): Promise<unknown> {
  // Loaded when a YAML file is there to read: most services never have one.
  const { parseDocument } = await import('yaml')
  const doc = parseDocument(text)
  const [first] = doc.errors
  if (first) {
    const pos = first.linePos?.[0]
    // The first line of yaml's message is the reason; the rest is a caret drawing we redo ourselves.
    const reason = first.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? first.message
    throw malformed(label, file, pos?.line ?? 1, pos?.col ?? 1, reason, text, doc.errors.length - 1)
  }
  return doc.toJS() as unknown
}

function parseJson(text: string, label: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    // V8's message gives a position for some mistakes and none for others; find it ourselves.
    const offset = jsonErrorOffset(text)
    const before = text.slice(0, Math.max(0, offset))
    const line = before.split('\n').length
    const col = offset - before.lastIndexOf('\n')
    throw malformed(label, file, line, col, (error as Error).message, text)
  }
}

function malformed(label: string, file: string, line: number, col: number, reason: string, text?: string, more = 0): PlinthError {
  const source = text?.split(/\r?\n/)[line - 1]
  const excerpt = source === undefined ? '' : `\n    ${source}\n    ${' '.repeat(Math.max(0, col - 1))}^`
  const others = more > 0 ? `\n  (${more} more problem${more === 1 ? '' : 's'} in this file after it)` : ''
  return new PlinthError('PLINTH_ERR_INVALID_CONFIG', `${label}:${line}:${col}: malformed configuration file: ${reason}${excerpt}${others}`, {
    hint: `Fix the syntax of ${label} at line ${line}, then start again.`,
    details: { file: label, path: file, line, column: col, reason },
  })
}

/** The offset of the first syntax error in `text`, by a small recursive-descent JSON reader. */
function jsonErrorOffset(text: string): number {
  let i = 0
  const literal = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y
  const fail = (): never => {
    throw new JsonSyntaxAt(i)
  }
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++
  }
  const string = (): void => {
    i++
    while (i < text.length) {
      const c = text[i] ?? ''
      if (c === '"') {
        i++
        return
      }
      if (c < ' ') fail()
      i += c === '\\' ? 2 : 1
    }
    fail()
  }
  const value = (): void => {
    space()
    const c = text[i]
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']'
      i++
      space()
      if (text[i] === close) {
        i++
        return
      }
      for (;;) {
        if (c === '{') {
          space()
          if (text[i] !== '"') fail()
          string()
          space()
          if (text[i] !== ':') fail()
          i++
        }
        value()
        space()
        if (text[i] === ',') i++
        else if (text[i] === close) return void i++
        else fail()
      }
    }
    if (c === '"') return string()
    literal.lastIndex = i
    const match = literal.exec(text)
    if (!match) fail()
    i += match?.[0].length ?? 0
  }
  try {
    value()
    space()
    if (i < text.length) fail()
    return text.length
  } catch (error) {
    if (error instanceof JsonSyntaxAt) return error.offset
    throw error
  }
}

class JsonSyntaxAt extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at offset ${offset}`)
  }
}
