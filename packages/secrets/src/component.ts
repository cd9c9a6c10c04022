import { Application, Logger, provide, token, type AnyProvider } from '@plinth/core'
import { SecretCache, type SecretsOptions } from './cache.js'
import { adoptPreparedSecrets } from './config-references.js'
import { secretStoreFromEnv, type StoreFromEnvOptions } from './settings.js'

/**
 * The app's secrets: read, cached, refreshed and watched. Components depend on it to read a
 * secret at run time, or to watch one and re-create the client that uses it when it rotates.
 *
 * @example
 * component('payments', {
 *   deps: { secrets: Secrets },
 *   create: async ({ secrets }) => {
 *     const client = { current: new PaymentsClient(await secrets.get('vault:secret/data/payments#apiKey')) }
 *     secrets.watch('vault:secret/data/payments#apiKey', (apiKey) => (client.current = new PaymentsClient(apiKey)))
 *     return client
 *   },
 * })
 */
export const Secrets = token('secrets').of<SecretCache>()

export interface SecretsComponentOptions {
  readonly cache?: Omit<SecretsOptions, 'log'>
  readonly store?: Omit<StoreFromEnvOptions, 'log'>
  /**
   * Secrets the app cannot run without, as references (`vault:secret/data/payments#apiKey`,
   * `env:JWT_SECRET`) or environment variable names (`JWT_SECRET`):
   * `plinth validate` checks that each is present and none is a placeholder.
   */
  readonly require?: readonly string[]
  /** The least life a Vault token that cannot be renewed may have left, in ms. Default 3 600 000. */
  readonly minTokenTtl?: number
}

/** The options each secrets() provider was made with, for the preflight. */
export const secretsProviders = new WeakMap<AnyProvider, { require: readonly string[]; minTokenTtl: number }>()

/**
 * Provides `Secrets`: what `resolveSecretReferences` prepared for the app's environment (the
 * same cache, Vault token and renewal), else a cache over `secretStoreFromEnv(app.env)`. Its
 * health check (`secrets` at /health) says, for each secret, which source it came from, its
 * version and when it is read again, never its value; and how the Vault token is doing.
 *
 * @example
 * createApp({ name: 'shop', config: AppConfig, components: [secrets(), payments] })
 */
export function secrets(options: SecretsComponentOptions = {}) {
  const provider = provide(Secrets, {
    // Built at start even when nothing reads a secret at run time: /health lists what was resolved.
    eager: true,
    deps: { app: Application, log: Logger },
    create: ({ app, log }) => {
      const prepared = adoptPreparedSecrets(app.env)
      if (!prepared) return new SecretCache(secretStoreFromEnv(app.env, { ...options.store, log }), { ...options.cache, log })
      prepared.useLogger(log)
      for (const binding of prepared.bindings) prepared.secrets.describe(binding.request.label, { variable: binding.variable, keys: binding.keys })
      return prepared.secrets
    },
    health: (cache) => cache.health(),
    stop: (cache) => cache.close(),
  })
  secretsProviders.set(provider, { require: options.require ?? [], minTokenTtl: options.minTokenTtl ?? 3_600_000 })
  return provider
}
