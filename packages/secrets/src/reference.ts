import { secretsErrors } from './errors.js'

/** A field of a KV version 2 secret in Vault. */
export interface VaultLocation {
  /** The secrets engine's mount, `secret` or `team/kv`. */
  readonly mount: string
  /** The secret's path under the mount, without `data/`: `app`, `services/payments`. */
  readonly path: string
  /** The field of the secret's data: `openaiApiKey`. */
  readonly key: string
  /** A version to pin; the latest when absent. */
  readonly version?: number
}

/**
 * Where a secret is read from, in order: Vault first (when a Vault store is present and
 * answers), then the environment variable. `label` is how messages and /health name it.
 */
export interface SecretRequest {
  readonly label: string
  readonly vault?: VaultLocation
  readonly env?: string
}

const vaultPattern = /^vault:(?<mount>[^#?]+?)\/data\/(?<path>[^#?]+)#(?<key>[^#?@]+)(?:@(?<version>\d+))?$/
const envPattern = /^env:(?<name>[A-Za-z_][A-Za-z0-9_]*)$/

/**
 * True when the text is meant as a secret reference (it may still be malformed).
 *
 * @example
 * isSecretReference('vault:secret/data/app#key') // true
 * isSecretReference('sk-live-123') // false
 */
export function isSecretReference(text: unknown): text is string {
  return typeof text === 'string' && (text.startsWith('vault:') || text.startsWith('env:'))
}

/**
 * Parses a secret reference: `vault:<mount>/data/<path>#<key>` (the KV v2 API path, as in
 * `vault kv get -output-curl-string`, optionally `@<version>` to pin one) or `env:<NAME>`.
 * `where` names the place the reference was written, for the error.
 *
 * @example
 * parseSecretReference('vault:secret/data/app#openaiApiKey')
 * // { label: 'vault:secret/data/app#openaiApiKey', vault: { mount: 'secret', path: 'app', key: 'openaiApiKey' } }
 * parseSecretReference('vault:secret/data/app#openaiApiKey', { fallbackEnv: 'OPENAI_API_KEY' }) // Vault, then the environment
 */
export function parseSecretReference(text: string, options: { where?: string; fallbackEnv?: string } = {}): SecretRequest {
  const where = options.where ? ` in ${options.where}` : ''
  const fallback = options.fallbackEnv ? { env: options.fallbackEnv } : {}
  const vault = vaultPattern.exec(text)?.groups
  if (vault) {
    const mount = vault.mount!.replace(/^\/+|\/+$/g, '')
    const path = vault.path!.replace(/^\/+|\/+$/g, '')
    if (mount === '' || path === '') throw malformed(text, where, 'the mount and the path must not be empty')
    const version = vault.version === undefined ? {} : { version: Number(vault.version) }
    return { label: text, vault: { mount, path, key: vault.key!, ...version }, ...fallback }
  }
  const env = envPattern.exec(text)?.groups
  if (env) return { label: text, env: env.name! }
  if (text.startsWith('vault:') && !text.includes('/data/')) {
    throw malformed(text, where, 'a KV v2 reference names the API path, with /data/ after the mount (vault:secret/data/app#key for the secret "app" of the mount "secret")')
  }
  if (text.startsWith('vault:') && !text.includes('#')) throw malformed(text, where, 'the field is missing: end the reference with #<key>')
  if (text.startsWith('env:')) throw malformed(text, where, 'an environment reference is env:<NAME>, a variable name of letters, digits and underscores')
  throw malformed(text, where, 'expected vault:<mount>/data/<path>#<key> or env:<NAME>')
}

/**
 * How a Vault location is written in messages and /health: `secret/data/app#openaiApiKey`.
 *
 * @example
 * describeLocation({ mount: 'secret', path: 'app', key: 'openaiApiKey' }) // 'secret/data/app#openaiApiKey'
 */
export function describeLocation(location: VaultLocation): string {
  return `${location.mount}/data/${location.path}#${location.key}${location.version === undefined ? '' : `@${location.version}`}`
}

function malformed(text: string, where: string, why: string) {
  // A reference is an address, not a secret: quoting it is safe, and it is what the user must fix.
  return secretsErrors.create('PLINTH_ERR_SECRET_REFERENCE', `malformed secret reference ${JSON.stringify(text)}${where}: ${why}`)
}
