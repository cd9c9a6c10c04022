import type { Logger } from '@plinth/core'
import { ChainSecrets } from './chain.js'
import type { SecretStore } from './contract.js'
import { EnvSecrets } from './env.js'
import { secretsErrors } from './errors.js'
import { VaultSecrets } from './vault.js'
import type { RenewalOptions, VaultAuth } from './vault-token.js'

export interface StoreFromEnvOptions {
  readonly log?: Logger | (() => Logger | undefined)
  readonly renewal?: RenewalOptions
  /** Deadline of one Vault call, in milliseconds. Default 5 000. */
  readonly timeout?: number
}

/**
 * The secret store the environment asks for, as design 000 has it: with `VAULT_ADDR` set, Vault
 * first and the environment as its fallback; without it, the environment alone. Vault
 * authenticates with `VAULT_ROLE_ID` and `VAULT_SECRET_ID` (AppRole, at `VAULT_APPROLE_MOUNT`,
 * default `approle`) when both are set, else with `VAULT_TOKEN`; `VAULT_NAMESPACE` is sent when set.
 *
 * The environment store reads a copy of `env` taken now, so that values written into `env`
 * later (resolved references) are never mistaken for the fallback.
 *
 * @example
 * const store = secretStoreFromEnv(process.env) // chain(vault, env) when VAULT_ADDR is set
 */
export function secretStoreFromEnv(env: NodeJS.ProcessEnv = process.env, options: StoreFromEnvOptions = {}): SecretStore {
  const fallback = new EnvSecrets({ ...env })
  const addr = env.VAULT_ADDR
  if (addr === undefined || addr === '') return fallback
  const vault = new VaultSecrets({
    addr,
    auth: vaultAuthFromEnv(env),
    ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.renewal ? { renewal: options.renewal } : {}),
    ...(options.log ? { log: options.log } : {}),
  })
  return new ChainSecrets([vault, fallback], options.log ? { log: options.log } : {})
}

function vaultAuthFromEnv(env: NodeJS.ProcessEnv): VaultAuth {
  const { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId, VAULT_TOKEN: token } = env
  if (roleId && secretId) return { roleId, secretId, ...(env.VAULT_APPROLE_MOUNT ? { mount: env.VAULT_APPROLE_MOUNT } : {}) }
  if (roleId || secretId) {
    throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', `AppRole needs both VAULT_ROLE_ID and VAULT_SECRET_ID; only ${roleId ? 'VAULT_ROLE_ID' : 'VAULT_SECRET_ID'} is set`)
  }
  if (token) return { token }
  throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', `VAULT_ADDR is set (${env.VAULT_ADDR}) but no way to log in is: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID`)
}
