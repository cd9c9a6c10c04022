import { CONFIG_EXIT_CODE, PlinthError, isPlinthError, loadConfig, type ConfigDefinition, type ConfigSource, type Logger } from '@plinth/core'
import { isSecretReference, parseSecretReference, type SecretRequest } from './reference.js'
import { SecretCache, type SecretsOptions } from './cache.js'
import { secretStoreFromEnv, type StoreFromEnvOptions } from './settings.js'

// Reported as one issue of the configuration's PLINTH_ERR_INVALID_CONFIG (all problems at once), under its own code.
const notRedacted = 'PLINTH_ERR_SECRET_NOT_REDACTED'

export interface ResolveReferencesOptions {
  /** The environment whose references are resolved; the values are written into it. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
  /** Where `config/` and `.env` are read when the configuration is checked. Default `process.cwd()`. */
  readonly cwd?: string
  /** CLI flags, for the configuration check. */
  readonly argv?: readonly string[]
  /**
   * Variables that take their value from Vault whenever `VAULT_ADDR` is set, the variable's own
   * value being the fallback while Vault cannot answer: `{ OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey' }`.
   */
  readonly vault?: Readonly<Record<string, string>>
  /** The secrets to read through; default: a cache over `secretStoreFromEnv(env)`. */
  readonly secrets?: SecretCache
  readonly log?: Logger | (() => Logger | undefined)
  readonly cache?: Omit<SecretsOptions, 'log'>
  readonly store?: Omit<StoreFromEnvOptions, 'log'>
}

/** One variable whose value came from a secret. */
export interface SecretBinding {
  readonly variable: string
  readonly request: SecretRequest
  /** The configuration keys the variable sets (empty when it sets none). */
  readonly keys: readonly string[]
  readonly source: string
  readonly version: number | undefined
}

/** What resolving left behind: the secrets (cached, refreshed, watchable) and each variable resolved. */
export interface PreparedSecrets {
  readonly secrets: SecretCache
  readonly bindings: readonly SecretBinding[]
}

interface Issue {
  readonly path: string
  readonly source: string
  readonly received: unknown
  readonly message: string
}

interface Adoptable extends PreparedSecrets {
  /** Hands the app's logger to the cache, the chain and the token renewal, which had only the caller's until the app started. */
  readonly useLogger: (log: Logger) => void
  /** What was written into the environment, to recognise it in the app's (a copy, under startTestApp). */
  readonly written: ReadonlyMap<string, string>
}

// Resolutions not yet adopted by an app. The app's environment may be a copy of the one
// resolved (startTestApp copies it), so it is recognised by the values written into it.
const prepared = new Set<Adoptable>()

/** The latest resolution not yet adopted whose values this environment holds. */
function preparedFor(env: NodeJS.ProcessEnv): Adoptable | undefined {
  return [...prepared].reverse().find((p) => !p.secrets.closed && p.written.size > 0 && [...p.written].every(([variable, value]) => env[variable] === value))
}

/** What resolveSecretReferences left for this environment, for the secrets component to adopt (once). */
export function adoptPreparedSecrets(env: NodeJS.ProcessEnv): Adoptable | undefined {
  const found = preparedFor(env)
  if (found) prepared.delete(found)
  return found
}

/**
 * Resolves secret references in the environment before the app loads its configuration: a
 * variable whose value is `vault:<mount>/data/<path>#<key>` or `env:<NAME>` gets the secret's
 * value, and so do the variables listed in `vault` when `VAULT_ADDR` is set. Then, given the
 * configuration, it loads it once to check that every key a secret reaches is redacted (a
 * secret key: listed in `secrets`, or named like one), so that no secret can be printed.
 *
 * Every problem is reported at once, as configuration problems are: a malformed reference, a
 * Vault path or field that does not exist, a KV version 1 mount, a key that would not be
 * redacted. It rejects with `PLINTH_ERR_INVALID_CONFIG` (exit with `CONFIG_EXIT_CODE`, 78);
 * no message carries a secret's value.
 *
 * The secrets component adopts what this leaves behind (the same cache, token and renewal), so
 * that /health lists each variable's source and rotations reach watchers.
 *
 * @example
 * // main.ts: before run(app), so that `start` and `check` both see the resolved values
 * await resolveSecretReferences(AppConfig, { vault: { OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey' } })
 * await run(app)
 */
export async function resolveSecretReferences(config: ConfigDefinition<unknown> | undefined, options: ResolveReferencesOptions = {}): Promise<PreparedSecrets> {
  const env = options.env ?? process.env
  const issues: Issue[] = []
  const requests: Array<{ variable: string; request: SecretRequest }> = []
  for (const [variable, value] of Object.entries(env)) {
    if (!isSecretReference(value)) continue
    try {
      requests.push({ variable, request: parseSecretReference(value, { where: `env ${variable}` }) })
    } catch (error) {
      issues.push({ path: variable, source: `env ${variable}`, received: value, message: describe(error) })
    }
  }
  const vaultSet = env.VAULT_ADDR !== undefined && env.VAULT_ADDR !== ''
  for (const [variable, reference] of Object.entries(options.vault ?? {})) {
    if (!vaultSet || isSecretReference(env[variable])) continue
    try {
      requests.push({ variable, request: parseSecretReference(reference, { where: `the vault binding of ${variable}`, fallbackEnv: variable }) })
    } catch (error) {
      issues.push({ path: variable, source: 'vault binding', received: reference, message: describe(error) })
    }
  }

  let appLog: Logger | undefined
  const given = options.log
  const log = () => appLog ?? (typeof given === 'function' ? given() : given)
  let secrets: SecretCache
  try {
    secrets = options.secrets ?? new SecretCache(secretStoreFromEnv(env, { ...options.store, log }), { ...options.cache, log })
  } catch (error) {
    throw invalid([{ path: 'VAULT_ADDR', source: 'env', received: env.VAULT_ADDR, message: describe(error) }], [])
  }
  // A cache the caller gave stays theirs to close; one made here is closed when resolving fails.
  const release = () => (options.secrets ? Promise.resolve() : secrets.close())
  const read = await Promise.all(
    requests.map(async ({ variable, request }) => {
      if (request.vault && !vaultSet && !options.secrets) {
        issues.push({ path: variable, source: `env ${variable}`, received: request.label, message: 'the reference names Vault, and VAULT_ADDR is not set: set VAULT_ADDR (and VAULT_TOKEN or AppRole), or give the value itself' })
        return undefined
      }
      try {
        return { variable, request, value: await secrets.read(request) }
      } catch (error) {
        issues.push({ path: variable, source: `env ${variable}`, received: request.label, message: describe(error) })
        return undefined
      }
    }),
  )
  const values = read.flatMap((r) => (r ? [r.value.value] : []))
  if (issues.length > 0) {
    await release()
    throw invalid(issues, values)
  }
  for (const r of read) if (r) env[r.variable] = r.value.value

  const keysOf = new Map<string, string[]>()
  if (config) {
    let loaded
    try {
      // Without the configuration's own sources: this may be one of them.
      loaded = await loadConfig(config, { env, sources: false, ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.argv ? { argv: options.argv } : {}) })
    } catch (error) {
      await release()
      throw scrubbed(error, values)
    }
    const redacted = loaded.redacted()
    for (const r of read) {
      if (!r) continue
      const keys = [...loaded.sources].filter(([, source]) => source === `env ${r.variable}`).map(([key]) => key)
      keysOf.set(r.variable, keys)
      for (const key of keys) {
        if (valueAt(redacted, key) !== '[redacted]') {
          issues.push({ path: key, source: `env ${r.variable}`, received: '[redacted]', message: `${notRedacted}: the key takes the secret ${r.request.label}, and it is not a secret of the configuration (declared at ${config.site.toString()}); add "${key}" to defineConfig({ secrets })` })
        }
      }
    }
    // References in config files and .env reach core's loader as they are: say so rather than let a "vault:..." string be used as a value.
    for (const [key, source] of loaded.sources) {
      const value = valueAt(loaded.value, key)
      if (isSecretReference(value) && !source.startsWith('env ')) {
        issues.push({ path: key, source, received: value, message: 'a secret reference is resolved only from an environment variable; set it in the environment (or list it in the vault bindings) instead' })
      }
    }
    if (issues.length > 0) {
      await release()
      throw invalid(issues, values)
    }
  }

  const result: Adoptable = {
    secrets,
    useLogger: (logger) => void (appLog = logger),
    written: new Map(read.flatMap((r) => (r ? [[r.variable, r.value.value] as const] : []))),
    bindings: read.flatMap((r) => (r ? [{ variable: r.variable, request: r.request, keys: keysOf.get(r.variable) ?? [], source: r.value.source, version: r.value.version }] : [])),
  }
  if (result.written.size > 0) prepared.add(result)
  return result
}

/**
 * Secret references as a source of the configuration: `resolveSecretReferences` run wherever
 * the configuration is loaded (start, `plinth check`, `plinth bootstrap`), so that
 * `vault:secret/data/app#key` in the environment is resolved, and checked, without a call in
 * main.ts. Problems reject the load with `PLINTH_ERR_INVALID_CONFIG` (exit 78).
 *
 * @example
 * export const AppConfig = defineConfig({
 *   schema,
 *   sources: [secretReferences({ vault: { OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey' } })],
 * })
 */
export function secretReferences(options: Omit<ResolveReferencesOptions, 'env' | 'cwd' | 'argv'> = {}): ConfigSource {
  return {
    name: 'secret references',
    resolve: async ({ env, cwd, argv, config }) => {
      // Resolved already (by a call before the app loads its configuration): the secrets component adopts that one.
      if (!Object.values(env).some(isSecretReference) && preparedFor(env) !== undefined) return
      const resolved = await resolveSecretReferences(config, { ...options, env, cwd, argv })
      // Nothing to keep watching: close the cache made for it, so nothing runs on in the background.
      if (resolved.bindings.length === 0) await resolved.secrets.close()
    },
  }
}

function describe(error: unknown): string {
  return isPlinthError(error) ? `${error.code}: ${error.message}` : (error as Error).message
}

function valueAt(value: unknown, key: string): unknown {
  let node = value
  for (const part of key.split('.')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined
  return node
}

function invalid(issues: Issue[], values: readonly string[]): PlinthError {
  const lines = issues.map((i) => `  - ${i.path} = ${JSON.stringify(i.received)} (${i.source}): ${i.message}`)
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
  const error = new PlinthError('PLINTH_ERR_INVALID_CONFIG', `secret references in the configuration have ${count}:\n${lines.join('\n')}`, {
    hint: 'Fix each reference or secret named, then start again; `plinth check` runs the same resolution.',
    details: { issues, exitCode: CONFIG_EXIT_CODE },
  })
  return scrubbed(error, values) as PlinthError
}

/** The error with every resolved value taken out of its message and details, whatever printed it. */
function scrubbed(error: unknown, values: readonly string[]): unknown {
  if (!(error instanceof PlinthError)) return error
  const scrub = (text: string) => values.reduce((out, value) => (value.length >= 3 ? out.replaceAll(value, '[redacted]') : out), text)
  if (!values.some((value) => value.length >= 3 && (error.message.includes(value) || JSON.stringify(error.details).includes(value)))) return error
  return new PlinthError(error.code, scrub(error.message), { hint: error.hint, details: JSON.parse(scrub(JSON.stringify(error.details))) as Record<string, unknown> })
}
