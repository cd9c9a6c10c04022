import type { SecretStore, SecretValue } from './contract.js'
import type { SecretRequest } from './reference.js'

/**
 * Secrets from environment variables: the default store, and the fallback of a chain. An unset
 * or empty variable is not an answer (`undefined`), so that a chain can look elsewhere.
 *
 * @example
 * const store = new EnvSecrets({ OPENAI_API_KEY: 'sk-test' })
 * const secret = await store.read({ label: 'openai', env: 'OPENAI_API_KEY' })
 * secret?.source // 'env OPENAI_API_KEY'
 */
export class EnvSecrets implements SecretStore {
  readonly name = 'env'
  readonly #env: NodeJS.ProcessEnv

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env
  }

  read(request: SecretRequest): Promise<SecretValue | undefined> {
    if (request.env === undefined) return Promise.resolve(undefined)
    const value = this.#env[request.env]
    if (value === undefined || value === '') return Promise.resolve(undefined)
    return Promise.resolve({ value, source: `env ${request.env}` })
  }
}
