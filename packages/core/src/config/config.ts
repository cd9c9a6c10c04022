import type { StandardSchemaV1 } from '@standard-schema/spec'
import { convert, envName, formatPath, getPath, isPlainObject, isSafePath, kindOf, leaves, schemaLeaves, setPath, type Plain, type ValueKind } from './keys.js'
import { isSecret, maskUrls, pinoRedactPaths, REDACTED, redactValue, scrub, secretsInUrls } from './secrets.js'
import { envBindings, parseFlags, readConfigFile, readDotEnv } from './sources.js'
import { PlinthError } from '../errors.js'
import { captureSite } from '../container/site.js'
import { declareName, type Token } from '../container/token.js'

/** The process exit code for invalid configuration: EX_CONFIG from sysexits.h, which systemd and supervisors know. */
export const CONFIG_EXIT_CODE = 78

export const APP_ENVS = ['development', 'staging', 'production'] as const
export type AppEnv = (typeof APP_ENVS)[number]

export interface ConfigOptions<S extends StandardSchemaV1> {
  /** Validates the merged object; zod 4, valibot, arktype or any Standard Schema validator. */
  schema: S
  /** Env var name -> key path, for names the automatic SNAKE_UPPER mapping does not give. */
  env?: Record<string, string>
  /** Key paths redacted everywhere, besides keys named like secrets (`password`, `apiKey`, ...). */
  secrets?: string[]
  /** The lowest-precedence values. Their key paths also get env vars and typed conversion. */
  defaults?: object
  /**
   * Asynchronous sources, run in order before the values are read, wherever the configuration is
   * loaded (start, `plinth check`, `plinth bootstrap`, `loadConfig`): each may write resolved
   * values into the environment, e.g. turn `vault:secret/data/app#key` into the secret.
   */
  sources?: readonly ConfigSource[]
}

/** What a configuration source is given: the environment it may write to, and where the configuration is read from. */
export interface ConfigSourceContext {
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  readonly argv: readonly string[]
  /** The configuration being loaded; load it again with `{ sources: false }` to check what the source did. */
  readonly config: ConfigDefinition<unknown>
}

/**
 * An asynchronous configuration source (a secret store, a remote configuration service). It
 * reports its problems by rejecting, all at once, with `PLINTH_ERR_INVALID_CONFIG`, as the
 * loader does; any other rejection is wrapped in one naming the source.
 */
export interface ConfigSource {
  /** For errors: `vault references`. */
  readonly name: string
  resolve(context: ConfigSourceContext): Promise<void>
}

/** A configuration: its schema, sources and secrets, and the token its value is provided under. */
export interface ConfigDefinition<T> extends Token<T, 'config'> {
  readonly schema: StandardSchemaV1<unknown, T>
  readonly env: Readonly<Record<string, string>>
  readonly secrets: readonly string[]
  readonly defaults: Readonly<Plain>
  readonly sources: readonly ConfigSource[]
}

export interface LoadConfigOptions {
  /** Where `config/` and `.env` are looked up. Default `process.cwd()`. */
  cwd?: string
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /** CLI flags: `--http.port=8001` or `--http.port 8001`. Default none. */
  argv?: readonly string[]
  /** Overrides APP_ENV from the environment and `.env`. */
  appEnv?: string
  /** Runs the configuration's asynchronous sources first. Default true; a source that loads the configuration itself passes false. */
  sources?: boolean
}

/** One configuration problem, as listed in the error and in `details.issues`. */
export interface ConfigIssue {
  /** `http.port`, `tags[0]`, or `(root)`. */
  readonly path: string
  /** What set the key: `env HTTP_PORT`, `.env HTTP_PORT`, `config/production.yaml`, `--http.port`, `default`, or `missing`. */
  readonly source: string
  /** The value that was found; `[redacted]` for a secret, undefined when missing. */
  readonly received: unknown
  /** What was expected, in the validator's words. */
  readonly message: string
  /** For a missing key, the environment variable that would set it (`DATABASE_URL`). */
  readonly env?: string
}

export interface LoadedConfig<T> {
  readonly value: T
  readonly appEnv: AppEnv
  /** Key path -> the source that set it (`schema default` for values only the schema supplied). */
  readonly sources: Map<string, string>
  /** Absolute paths of the files read, in precedence order. */
  readonly files: string[]
  /** pino redact paths for every secret of this configuration; give them to createLogger. */
  readonly redactionPaths: string[]
  /** The value with every secret replaced by `[redacted]`, safe to print or log. */
  redacted(): unknown
  /**
   * What `.env` set, for the process settings the schema does not declare (LOG_LEVEL): a real
   * environment variable of the same name wins over it.
   */
  readonly dotenv?: Readonly<Record<string, string>>
  /**
   * Every secret value of the configuration: those under secret key paths, and the credentials
   * in the URLs of any setting (`https://user:pass@host`, `?api_key=`). The logger and the
   * servers mask them wherever they appear.
   */
  readonly secretValues: readonly string[]
}

const schemaKinds = new WeakMap<ConfigDefinition<unknown>, Map<string, ValueKind | undefined>>()

/**
 * Declares the application's configuration. The result is a token: components receive the
 * validated value with `deps: { config: AppConfig }`.
 *
 * Env vars and CLI flags are strings. A key whose default or file value is a number or boolean
 * (or whose schema says so, for validators exposing Standard JSON Schema, as zod 4 does) is
 * converted before validation, so `z.number()` accepts `HTTP_PORT=8001`; for keys with neither,
 * let the schema coerce with `z.coerce.number()`.
 *
 * @example
 * import { z } from 'zod'
 * export const AppConfig = defineConfig({
 *   schema: z.object({
 *     http: z.object({ host: z.string(), port: z.coerce.number().int().min(1).max(65535) }),
 *     database: z.object({ url: z.string().url(), password: z.string().optional() }),
 *   }),
 *   defaults: { http: { host: '127.0.0.1', port: 8000 } },
 *   env: { DATABASE_URL: 'database.url', PGPASSWORD: 'database.password' },
 *   secrets: ['database.url'],
 * })
 * component('server', { deps: { config: AppConfig }, create: ({ config }) => new Server(config.http) })
 */
export function defineConfig<S extends StandardSchemaV1>(options: ConfigOptions<S>): ConfigDefinition<StandardSchemaV1.InferOutput<S>> {
  const { schema, env = {}, secrets = [], defaults = {}, sources = [] } = options
  if (typeof schema?.['~standard']?.validate !== 'function') {
    throw new TypeError('defineConfig({ schema }) needs a Standard Schema validator (zod 4, valibot, arktype, ...)')
  }
  declareName('config')
  return {
    kind: 'token',
    id: Symbol('config'),
    name: 'config',
    site: captureSite(defineConfig),
    schema,
    env: { ...env },
    secrets: [...secrets],
    defaults: structuredClone(defaults) as Plain,
    sources: [...sources],
  }
}

/**
 * Loads and validates the configuration. Later sources win: defaults, `config/<APP_ENV>.json`
 * (or `.yaml`, `.yml`), `.env` (never over a real env var), env vars, CLI flags. Reads only.
 * Every problem is reported at once in one `PLINTH_ERR_INVALID_CONFIG`; exit with
 * `CONFIG_EXIT_CODE` on it.
 *
 * @example
 * try {
 *   const config = await loadConfig(AppConfig, { argv: process.argv.slice(2) })
 *   console.log(config.appEnv, config.redacted(), config.sources.get('http.port'))
 * } catch (error) {
 *   if (isPlinthError(error, 'PLINTH_ERR_INVALID_CONFIG')) {
 *     console.error(error.describe())
 *     process.exit(CONFIG_EXIT_CODE)
 *   }
 *   throw error
 * }
 */
export async function loadConfig<T>(def: ConfigDefinition<T>, options: LoadConfigOptions = {}): Promise<LoadedConfig<T>> {
  const cwd = options.cwd ?? process.cwd()
  const env = options.env ?? process.env
  if (options.sources !== false) await runSources(def, { env, cwd, argv: options.argv ?? [], config: def })
  const dotenv = await readDotEnv(cwd)
  const appEnv = resolveAppEnv(options.appEnv, env.APP_ENV, dotenv?.values.APP_ENV)
  const file = await readConfigFile(cwd, appEnv)
  const files = [...(file ? [file.file] : []), ...(dotenv ? [dotenv.file] : [])]

  const merged: Plain = {}
  const sources = new Map<string, string>()
  const issues: ConfigIssue[] = []
  const failedPaths = new Set<string>()
  const kinds = kindsOf(def)

  const assign = (path: string, value: unknown, source: string) => {
    if (!isSafePath(path)) {
      issues.push({ path, source, received: undefined, message: 'not an allowed key path (empty segment or a prototype name)' })
      return
    }
    setPath(merged, path, value)
    for (const key of sources.keys()) if (key.startsWith(`${path}.`) || path.startsWith(`${key}.`)) sources.delete(key)
    sources.set(path, source)
  }
  const assignString = (path: string, raw: string, source: string) => {
    const converted = convert(raw, kindOf(getPath(merged, path.split('.'))) ?? kinds.get(path))
    if ('error' in converted) {
      issues.push({ path, source, received: isSecret(def.secrets, path) ? REDACTED : maskUrls(raw), message: scrub(converted.error, secretsInUrls(raw)) })
      failedPaths.add(path)
      assign(path, raw, source)
    } else {
      assign(path, converted.value, source)
    }
  }

  for (const [path, value] of leaves(def.defaults)) assign(path, value, 'default')
  for (const [path, value] of leaves(file?.values ?? {})) assign(path, value, file?.label ?? '')

  const known = new Set([...leaves(def.defaults).map(([path]) => path), ...kinds.keys(), ...leaves(file?.values ?? {}).map(([path]) => path)])
  const bindings = envBindings(def.env, known)
  for (const [values, prefix] of [[dotenv?.values ?? {}, '.env'], [env, 'env']] as const) {
    for (const [name, path] of bindings) {
      const raw = values[name]
      if (raw !== undefined) assignString(path, raw, `${prefix} ${name}`)
    }
  }
  for (const flag of parseFlags(options.argv ?? [])) assignString(flag.path, flag.raw, flag.label)

  let result: StandardSchemaV1.Result<T>
  try {
    result = await def.schema['~standard'].validate(merged)
  } catch (error) {
    throw new PlinthError('PLINTH_ERR_INVALID_CONFIG', `the configuration schema (${def.site.toString()}) threw while validating: ${(error as Error).message}`, {
      hint: 'A refinement or transform in the schema threw instead of reporting an issue; make it return an issue.',
      cause: error,
    })
  }
  // Every secret leaf, however short: a validator's message quotes the value it rejected.
  const secretValues = [...leaves(merged).flatMap(([path, value]) => (isSecret(def.secrets, path) ? [value] : [])), ...secretValuesOf(merged, def)]
  const issueOf = (issue: StandardSchemaV1.Issue, values: unknown): ConfigIssue => {
    const { text, keys } = formatPath(issue.path)
    const received = getPath(values, keys)
    return {
      path: text,
      source: sourceOf(sources, keys),
      // An issue on an object (a refinement of `database`) would otherwise print the secrets inside it.
      received: received !== undefined && isSecret(def.secrets, text) ? REDACTED : redactValue(received, def.secrets, keys.length === 0 ? '' : text),
      message: scrub(issue.message, secretValues),
    }
  }
  const found = (result.issues ?? []).map((issue) => issueOf(issue, merged)).filter((issue) => !failedPaths.has(issue.path))
  // A whole section missing (`database`) is reported by the keys inside it that have no value
  // (`database.url`), each with the env var that sets it: that is what an operator has to set.
  const absent = found.filter((issue) => issue.received === undefined && issue.source === 'missing' && [...kinds.keys()].some((key) => key.startsWith(`${issue.path}.`)))
  if (absent.length > 0) {
    const filled = structuredClone(merged)
    for (const issue of absent) setPath(filled, issue.path, {})
    const deeper = ((await def.schema['~standard'].validate(filled)).issues ?? []).map((issue) => issueOf(issue, filled))
    for (const issue of absent) {
      const inside = deeper.filter((d) => d.path.startsWith(`${issue.path}.`))
      const section = { ...issue, message: `${issue.message}; every key inside has a default, so give the object a default in the schema (.default({}))` }
      found.splice(found.indexOf(issue), 1, ...(inside.length > 0 ? inside : [section]))
    }
  }
  const names = new Map([...bindings].map(([name, path]) => [path, name]))
  for (const issue of found) {
    const settable = issue.received === undefined && issue.source === 'missing' && !absent.some((a) => a.path === issue.path)
    issues.push(settable ? { ...issue, env: names.get(issue.path) ?? envName(issue.path) } : issue)
  }
  if (issues.length > 0 || result.issues) throw invalidConfig(issues, appEnv, files, def)

  const value = result.value
  for (const [path] of leaves(isPlainObject(value) ? value : {})) {
    if (![...sources.keys()].some((key) => path === key || path.startsWith(`${key}.`))) sources.set(path, 'schema default')
  }
  const secretPaths = new Set([...def.secrets, ...[...known, ...sources.keys()].filter((path) => isSecret(def.secrets, path))])
  return {
    value,
    appEnv,
    sources,
    files,
    redactionPaths: pinoRedactPaths(secretPaths),
    redacted: () => redactValue(value, def.secrets),
    dotenv: { ...dotenv?.values },
    secretValues: [...new Set([...secretValuesOf(merged, def), ...(isPlainObject(value) ? secretValuesOf(value, def) : [])])],
  }
}

async function runSources(def: ConfigDefinition<unknown>, context: ConfigSourceContext): Promise<void> {
  for (const source of def.sources ?? []) {
    try {
      await source.resolve(context)
    } catch (error) {
      if (error instanceof PlinthError && error.code === 'PLINTH_ERR_INVALID_CONFIG') throw error
      throw new PlinthError('PLINTH_ERR_INVALID_CONFIG', `the configuration source "${source.name}" of the configuration declared at ${def.site.toString()} failed: ${(error as Error)?.message ?? String(error)}`, {
        hint: 'Fix what the source reports (or make it reachable), then start again; `plinth check` runs the same sources.',
        cause: error,
        details: { source: source.name, exitCode: CONFIG_EXIT_CODE },
      })
    }
  }
}

/**
 * True when the key path holds a secret: listed in `secrets`, under a listed path, or named like
 * one (`password`, `secret`, `token`, `apiKey`, `privateKey`, `credentials`, ...).
 *
 * @example
 * isSecretPath(AppConfig, 'ai.apiKey') // true, by its name
 * isSecretPath(AppConfig, 'http.port') // false
 */
export function isSecretPath(def: ConfigDefinition<unknown>, path: string): boolean {
  return isSecret(def.secrets, path)
}

/**
 * pino redact paths for the configuration's secrets known before loading (listed ones, and keys
 * named like secrets in the defaults and the schema), both at the top of a log object and one
 * level down (`log.info({ config })`). `LoadedConfig.redactionPaths` adds those found in files.
 *
 * @example
 * const log = createLogger({ redact: redactionPaths(AppConfig) })
 * log.info({ config: loaded.value }, 'configuration loaded') // database.password is [redacted]
 */
export function redactionPaths(def: ConfigDefinition<unknown>): string[] {
  const candidates = [...leaves(def.defaults).map(([path]) => path), ...kindsOf(def).keys()]
  return pinoRedactPaths(new Set([...def.secrets, ...candidates.filter((path) => isSecret(def.secrets, path))]))
}

function kindsOf(def: ConfigDefinition<unknown>): Map<string, ValueKind | undefined> {
  let kinds = schemaKinds.get(def)
  if (!kinds) schemaKinds.set(def, (kinds = schemaLeaves(def.schema)))
  return kinds
}

function resolveAppEnv(option: string | undefined, fromEnv: string | undefined, fromDotEnv: string | undefined): AppEnv {
  // An empty APP_ENV= is how shells and compose files say "unset".
  const [value, source] = option ? [option, 'the appEnv option'] : fromEnv ? [fromEnv, 'env APP_ENV'] : fromDotEnv ? [fromDotEnv, '.env APP_ENV'] : ['development', 'default']
  if ((APP_ENVS as readonly string[]).includes(value)) return value as AppEnv
  const issue: ConfigIssue = { path: 'APP_ENV', source, received: value, message: `expected one of ${APP_ENVS.join(', ')}` }
  throw new PlinthError('PLINTH_ERR_INVALID_CONFIG', `APP_ENV ${JSON.stringify(value)} (from ${source}) is not an environment Plinth knows; expected one of ${APP_ENVS.join(', ')}`, {
    hint: `Set APP_ENV to one of ${APP_ENVS.join(', ')}; per-environment values go in config/<APP_ENV>.yaml.`,
    details: { issues: [issue], exitCode: CONFIG_EXIT_CODE },
  })
}

/** The source that set a key: the key itself, an ancestor that was set whole, or its children's sources. */
function sourceOf(sources: ReadonlyMap<string, string>, keys: readonly PropertyKey[]): string {
  const names = keys.map(String)
  for (let n = names.length; n > 0; n--) {
    const found = sources.get(names.slice(0, n).join('.'))
    if (found !== undefined) return found
  }
  const prefix = names.length === 0 ? '' : `${names.join('.')}.`
  const below = new Set([...sources].filter(([key]) => key.startsWith(prefix)).map(([, source]) => source))
  return below.size > 0 ? [...below].join(', ') : 'missing'
}

/**
 * The string values under secret key paths, and the credentials in the URLs of every setting.
 * Numbers and strings under six characters are left out: the name rule over-matches on purpose
 * (`tokenTtl: 900`), and masking "900" in every line and response would garble them.
 */
function secretValuesOf(settings: Record<string, unknown>, def: ConfigDefinition<unknown>): string[] {
  return leaves(settings).flatMap(([path, value]) => {
    const values = (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string')
    return (isSecret(def.secrets, path) ? values : values.flatMap(secretsInUrls)).filter((item) => item.length >= 6)
  })
}

function invalidConfig(issues: ConfigIssue[], appEnv: AppEnv, files: string[], def: ConfigDefinition<unknown>): PlinthError {
  if (issues.length === 0) issues.push({ path: '(root)', source: 'missing', received: undefined, message: 'the schema rejected the configuration without naming an issue' })
  const lines = issues.map((issue) => {
    const value = issue.received === undefined ? '' : ` = ${show(issue.received)}`
    return `  - ${issue.path}${value} (${issue.source}${issue.env ? `; set ${issue.env}` : ''}): ${issue.message}`
  })
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
  return new PlinthError('PLINTH_ERR_INVALID_CONFIG', `configuration for APP_ENV=${appEnv} (declared at ${def.site.toString()}) has ${count}:\n${lines.join('\n')}`, {
    details: { issues, appEnv, files, exitCode: CONFIG_EXIT_CODE },
  })
}

function show(value: unknown): string {
  const text = value === REDACTED ? REDACTED : (JSON.stringify(value) ?? String(value))
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
