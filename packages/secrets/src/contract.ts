import type { HealthResult } from '@plinth/core'
import type { SecretRequest } from './reference.js'

/** A secret as a store read it: the value, and where it came from (never printed with the value). */
export interface SecretValue {
  readonly value: string
  /** Where it came from, for /health and logs: `vault secret/data/app#openaiApiKey`, `env OPENAI_API_KEY`. */
  readonly source: string
  /** The KV v2 version read, where the store has versions. */
  readonly version?: number
  /** How long the value may be cached, in milliseconds, when the store knows (a Vault lease). */
  readonly ttl?: number
}

/**
 * A place secrets are read from: the environment, Vault, or a chain of them.
 *
 * `read` resolves to `undefined` when the request names nothing this store looks at (no Vault
 * location for the environment store, an unset variable), and rejects when the store should
 * have the secret and does not, or cannot answer: the caller (a chain) decides whether to fall
 * back. Errors name where the secret was looked for, never its value.
 *
 * @example
 * const store: SecretStore = new EnvSecrets(process.env)
 * const key = await store.read(parseSecretReference('env:OPENAI_API_KEY'))
 */
export interface SecretStore {
  /** `env`, `vault`, `chain(vault, env)`. */
  readonly name: string
  read(request: SecretRequest, signal?: AbortSignal): Promise<SecretValue | undefined>
  /** The store's own state for /health (a Vault token's renewal), when it has one. */
  health?(): HealthResult
  /** Stops timers (token renewal) and releases connections. */
  close?(): Promise<void>
}
