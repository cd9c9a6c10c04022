/**
 * What a module (or the app itself) needs on disk before it loads: directories, files made from
 * templates, databases and artifacts. Declared in `defineModule({ bootstrap })`, in a
 * `module.json` manifest, or in `createApp({ bootstrap: { requirements } })`; the bootstrap
 * phase prepares them.
 *
 * Destination paths are relative to the data directory (`DATA_DIR`, default `./data`). A module
 * may not write outside it; the app's own requirements may use absolute paths.
 */
import { isAbsolute, normalize, sep } from 'node:path'

/** A directory to create; a plain string is a path with the default mode (0o755 before umask). */
export type DirectoryRequirement = string | { readonly path: string; readonly mode?: number | string }

/** A file made once from a template (or inline content), never overwritten once it exists. */
export interface FileRequirement {
  readonly path: string
  /** The template file, relative to the module's folder. `{{name}}` placeholders are filled in. */
  readonly template?: string
  /** Inline template text, instead of a template file. */
  readonly content?: string
  /** Values for `{{name}}` placeholders, besides dataDir, appName, appEnv and module. */
  readonly variables?: Readonly<Record<string, string>>
  /** Default 0o644. */
  readonly mode?: number | string
}

/**
 * A database a module needs, created with its tables by a database bootstrap driver (the
 * database package registers one); core only carries the declaration.
 */
export interface DatabaseRequirement {
  readonly name: string
  /** The driver that creates it (`sqlite`, `postgres`); default: the only driver registered. */
  readonly driver?: string
  /** Driver-specific settings (tables, migrations folder, ...), passed through as given. */
  readonly options?: Readonly<Record<string, unknown>>
  /**
   * The app runs without this database while its server cannot be reached: the bootstrap warns
   * and goes on instead of failing, and creates it at the next start. Default false.
   */
  readonly optional?: boolean
}

/** A file (model, asset, schema) fetched over http(s) or copied from a path, verified by sha256. */
export interface ArtifactRequirement {
  readonly path: string
  /** An `http(s)://` URL, a `file:` URL, or a path relative to the module's folder. */
  readonly source: string
  /** The expected SHA-256 of the content, 64 hex digits. */
  readonly sha256: string
  /** The expected size in bytes, checked before hashing when given. */
  readonly size?: number
  /** Default 0o644. */
  readonly mode?: number | string
}

export interface BootstrapRequirements {
  readonly directories?: readonly DirectoryRequirement[]
  readonly files?: readonly FileRequirement[]
  readonly databases?: readonly DatabaseRequirement[]
  readonly artifacts?: readonly ArtifactRequirement[]
}

/** A problem in a declaration: the field (`bootstrap.artifacts[0].sha256`) and what is wrong with it. */
export interface FieldProblem {
  readonly field: string
  readonly message: string
}

/** Requirements after validation: modes are numbers, directories are objects. */
export interface CheckedRequirements {
  readonly directories: readonly { path: string; mode: number | undefined }[]
  readonly files: readonly (FileRequirement & { mode: number | undefined })[]
  readonly databases: readonly DatabaseRequirement[]
  readonly artifacts: readonly (ArtifactRequirement & { mode: number | undefined })[]
}

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value)))
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A mode as a number: 0o750, or the octal strings "750" and "0750" that JSON manifests use. */
function parseMode(value: unknown): number | undefined | { error: string } {
  if (value === undefined) return undefined
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0o7777) return value
  if (typeof value === 'string' && /^0?[0-7]{3,4}$/.test(value)) return Number.parseInt(value, 8)
  return { error: `must be a file mode: a number such as 0o750, or an octal string such as "0750"; got ${show(value)}` }
}

function checkKeys(value: Record<string, unknown>, field: string, known: readonly string[], problems: FieldProblem[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push({ field: `${field}.${key}`, message: `unknown field; expected one of ${known.join(', ')}` })
  }
}

function checkPath(value: unknown, field: string, confined: boolean, problems: FieldProblem[]): value is string {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push({ field, message: `must be a non-empty path; got ${show(value)}` })
    return false
  }
  if (confined && (isAbsolute(value) || normalize(value).split(sep).includes('..') || normalize(value).split('/').includes('..'))) {
    problems.push({ field, message: `must be relative and stay inside the data directory; got ${show(value)}` })
    return false
  }
  return true
}

function checkMode(value: unknown, field: string, problems: FieldProblem[]): number | undefined {
  const mode = parseMode(value)
  if (typeof mode === 'object') {
    problems.push({ field, message: mode.error })
    return undefined
  }
  return mode
}

function listOf(value: unknown, field: string, problems: FieldProblem[]): unknown[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) {
    problems.push({ field, message: `must be a list; got ${show(value)}` })
    return []
  }
  return value
}

/**
 * Validates requirements declared by a module (`confined`: paths stay in the data directory) or
 * by the app, collecting every problem instead of stopping at the first.
 *
 * @example
 * const problems: FieldProblem[] = []
 * checkRequirements({ directories: ['../etc'] }, 'bootstrap', true, problems)
 * // problems: [{ field: 'bootstrap.directories[0]', message: 'must be relative and stay inside the data directory; got "../etc"' }]
 */
export function checkRequirements(value: unknown, field: string, confined: boolean, problems: FieldProblem[]): CheckedRequirements {
  const out = { directories: [] as CheckedRequirements['directories'][number][], files: [] as CheckedRequirements['files'][number][], databases: [] as DatabaseRequirement[], artifacts: [] as CheckedRequirements['artifacts'][number][] }
  if (value === undefined) return out
  if (!isRecord(value)) {
    problems.push({ field, message: `must be an object with directories, files, databases or artifacts; got ${show(value)}` })
    return out
  }
  checkKeys(value, field, ['directories', 'files', 'databases', 'artifacts'], problems)

  listOf(value.directories, `${field}.directories`, problems).forEach((entry, i) => {
    const at = `${field}.directories[${i}]`
    if (typeof entry === 'string') {
      if (checkPath(entry, at, confined, problems)) out.directories.push({ path: entry, mode: undefined })
      return
    }
    if (!isRecord(entry)) return problems.push({ field: at, message: `must be a path or { path, mode }; got ${show(entry)}` })
    checkKeys(entry, at, ['path', 'mode'], problems)
    const mode = checkMode(entry.mode, `${at}.mode`, problems)
    if (checkPath(entry.path, `${at}.path`, confined, problems)) out.directories.push({ path: entry.path, mode })
  })

  listOf(value.files, `${field}.files`, problems).forEach((entry, i) => {
    const at = `${field}.files[${i}]`
    if (!isRecord(entry)) return problems.push({ field: at, message: `must be { path, template } or { path, content }; got ${show(entry)}` })
    checkKeys(entry, at, ['path', 'template', 'content', 'variables', 'mode'], problems)
    const mode = checkMode(entry.mode, `${at}.mode`, problems)
    const hasTemplate = entry.template !== undefined
    const hasContent = entry.content !== undefined
    if (hasTemplate === hasContent) problems.push({ field: at, message: 'needs exactly one of template (a file) or content (inline text)' })
    if (hasTemplate && (typeof entry.template !== 'string' || entry.template === '')) problems.push({ field: `${at}.template`, message: `must be a path; got ${show(entry.template)}` })
    if (hasContent && typeof entry.content !== 'string') problems.push({ field: `${at}.content`, message: `must be text; got ${show(entry.content)}` })
    if (entry.variables !== undefined && (!isRecord(entry.variables) || Object.values(entry.variables).some((v) => typeof v !== 'string'))) {
      problems.push({ field: `${at}.variables`, message: 'must map names to strings' })
    }
    if (checkPath(entry.path, `${at}.path`, confined, problems)) out.files.push({ ...(entry as unknown as FileRequirement), mode })
  })

  listOf(value.databases, `${field}.databases`, problems).forEach((entry, i) => {
    const at = `${field}.databases[${i}]`
    if (!isRecord(entry)) return problems.push({ field: at, message: `must be { name, driver?, options? }; got ${show(entry)}` })
    checkKeys(entry, at, ['name', 'driver', 'options', 'optional'], problems)
    let ok = true
    if (typeof entry.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(entry.name)) {
      problems.push({ field: `${at}.name`, message: `must be a name of letters, digits, _, . or -; got ${show(entry.name)}` })
      ok = false
    }
    if (entry.driver !== undefined && (typeof entry.driver !== 'string' || entry.driver === '')) {
      problems.push({ field: `${at}.driver`, message: `must be a driver name such as "sqlite"; got ${show(entry.driver)}` })
      ok = false
    }
    if (entry.options !== undefined && !isRecord(entry.options)) {
      problems.push({ field: `${at}.options`, message: `must be an object; got ${show(entry.options)}` })
      ok = false
    }
    if (entry.optional !== undefined && typeof entry.optional !== 'boolean') {
      problems.push({ field: `${at}.optional`, message: `must be true or false; got ${show(entry.optional)}` })
      ok = false
    }
    if (ok) out.databases.push(entry as unknown as DatabaseRequirement)
  })

  listOf(value.artifacts, `${field}.artifacts`, problems).forEach((entry, i) => {
    const at = `${field}.artifacts[${i}]`
    if (!isRecord(entry)) return problems.push({ field: at, message: `must be { path, source, sha256 }; got ${show(entry)}` })
    checkKeys(entry, at, ['path', 'source', 'sha256', 'size', 'mode'], problems)
    const mode = checkMode(entry.mode, `${at}.mode`, problems)
    let ok = checkPath(entry.path, `${at}.path`, confined, problems)
    if (typeof entry.source !== 'string' || entry.source === '') {
      problems.push({ field: `${at}.source`, message: `must be an http(s) URL or a path; got ${show(entry.source)}` })
      ok = false
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry.source) && !/^(https?|file):\/\//i.test(entry.source)) {
      problems.push({ field: `${at}.source`, message: `only http, https and file URLs can be fetched; got ${show(entry.source)}` })
      ok = false
    }
    if (typeof entry.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(entry.sha256)) {
      problems.push({ field: `${at}.sha256`, message: `must be the SHA-256 of the content as 64 hex digits (\`sha256sum FILE\`); got ${show(entry.sha256)}` })
      ok = false
    }
    if (entry.size !== undefined && (typeof entry.size !== 'number' || !Number.isSafeInteger(entry.size) || entry.size < 0)) {
      problems.push({ field: `${at}.size`, message: `must be a byte count; got ${show(entry.size)}` })
      ok = false
    }
    if (ok) out.artifacts.push({ ...(entry as unknown as ArtifactRequirement), sha256: (entry.sha256 as string).toLowerCase(), mode })
  })
  return out
}
