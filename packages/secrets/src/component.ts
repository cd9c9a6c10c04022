import { Application, Logger, provide, token } from '@plinth/core'
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
}

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
  return provide(Secrets, {
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
}
