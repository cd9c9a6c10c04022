import type { HealthResult, Logger } from '@plinth/core'
import type { SecretStore, SecretValue } from './contract.js'
import { secretsErrors } from './errors.js'
import type { SecretRequest } from './reference.js'

// Failures of a source that may pass (Vault sealed, unreachable, its token refused or expired):
// the next source answers meanwhile. Any other failure (a path that does not exist, a KV v1
// mount, a malformed reference) is a mistake to fix, and falling back would hide it.
const passing = new Set(['PLINTH_ERR_VAULT_UNREACHABLE', 'PLINTH_ERR_VAULT_SEALED', 'PLINTH_ERR_VAULT_DENIED', 'PLINTH_ERR_VAULT_RENEWAL', 'PLINTH_ERR_VAULT_LOGIN', 'PLINTH_ERR_VAULT_RESPONSE'])

/**
 * True for a failure the next source of a chain may answer in place of (Vault down, its token unusable).
 *
 * @example
 * if (isPassingFailure(error)) log.warn('Vault cannot answer; using the environment meanwhile')
 */
export function isPassingFailure(error: unknown): boolean {
  return secretsErrors.is(error) && passing.has(error.code)
}

/**
 * Sources in order, the first that answers wins: as design 000 asks, Vault first and the
 * environment as its fallback (`new ChainSecrets([vault, new EnvSecrets()])`). A source that
 * cannot answer now (Vault sealed or unreachable, its token unusable) is skipped, logged once
 * until it answers again; a secret missing where it was declared is an error, never skipped.
 *
 * @example
 * const chain = new ChainSecrets([vault, new EnvSecrets()], { log })
 * const secret = await chain.read(parseSecretReference('vault:secret/data/app#openaiApiKey', { fallbackEnv: 'OPENAI_API_KEY' }))
 * secret.source // 'vault secret/data/app#openaiApiKey', or 'env OPENAI_API_KEY' while Vault is down
 */
export class ChainSecrets implements SecretStore {
  readonly name: string
  readonly stores: readonly SecretStore[]
  readonly #log: () => Logger | undefined
  readonly #failing = new Set<SecretStore>()

  constructor(stores: readonly SecretStore[], options: { log?: Logger | (() => Logger | undefined) } = {}) {
    if (stores.length === 0) throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', 'a chain of secret stores needs at least one store')
    this.stores = stores
    this.name = `chain(${stores.map((s) => s.name).join(', ')})`
    const log = options.log
    this.#log = typeof log === 'function' ? log : () => log
  }

  async read(request: SecretRequest, signal?: AbortSignal): Promise<SecretValue | undefined> {
    const skipped: unknown[] = []
    for (const store of this.stores) {
      let value: SecretValue | undefined
      try {
        value = await store.read(request, signal)
      } catch (error) {
        if (!isPassingFailure(error)) throw error
        skipped.push(error)
        if (!this.#failing.has(store)) {
          this.#failing.add(store)
          this.#log()?.warn({ store: store.name, secret: request.label, err: error }, `secret store ${store.name} cannot answer; the next source of the chain answers meanwhile: ${(error as Error).message}`)
        }
        continue
      }
      if (this.#failing.delete(store)) this.#log()?.info({ store: store.name }, `secret store ${store.name} answers again`)
      if (value) return value
    }
    if (skipped.length === 0) return undefined
    const fallback = request.env ? `, and the environment variable ${request.env} is not set` : ', and no environment variable is named as its fallback'
    throw secretsErrors.create('PLINTH_ERR_SECRET_UNAVAILABLE', `no source could give the secret ${request.label}: ${skipped.map((e) => (e as Error).message).join('; ')}${fallback}`, {
      cause: skipped[0],
    })
  }

  health(): HealthResult {
    const parts = this.stores.flatMap((store) => {
      const result = store.health?.()
      return result ? [[store.name, typeof result === 'string' ? { status: result } : result] as const] : []
    })
    const down = parts.some(([, r]) => r.status === 'down' || r.status === 'degraded')
    // A chain with a fallback still answers while one store is down: degraded, not down.
    return { status: down ? 'degraded' : 'up', details: Object.fromEntries(parts.map(([name, r]) => [name, { status: r.status, ...r.details }])) }
  }

  async close(): Promise<void> {
    await Promise.all(this.stores.map((store) => store.close?.() ?? Promise.resolve()))
  }
}
