import { CONFIG_EXIT_CODE, isPlinthError } from '@plinth/core'
import { resolveSecretReferences, type PreparedSecrets } from '@plinth/secrets'
import { AppConfig } from '../../config.js'

/**
 * Variables that come from Vault whenever VAULT_ADDR is set (with VAULT_TOKEN, or VAULT_ROLE_ID
 * and VAULT_SECRET_ID): the OpenAI-compatible provider's API key, from the field `openaiApiKey`
 * of the KV v2 secret `reference` (write it with `vault kv put -mount=secret reference
 * openaiApiKey=sk-...`). The variable's own value is the fallback while Vault cannot answer.
 * Any other variable may hold a reference itself: DATABASE_URL=vault:secret/data/db#url.
 */
export const vaultBindings = { OPENAI_API_KEY: 'vault:secret/data/reference#openaiApiKey' }

/**
 * Resolves the secret references of `env` into it before the configuration is loaded; on a bad
 * reference, prints every problem and exits 78, as invalid configuration does.
 *
 * @example
 * await prepareSecrets(process.env) // main.ts, before run(app)
 */
export async function prepareSecrets(env: NodeJS.ProcessEnv, exit: (code: number) => never = (code) => process.exit(code)): Promise<PreparedSecrets> {
  try {
    return await resolveSecretReferences(AppConfig, { env, vault: vaultBindings })
  } catch (error) {
    if (!isPlinthError(error, 'PLINTH_ERR_INVALID_CONFIG')) throw error
    process.stderr.write(`${error.describe()}\n`)
    return exit(CONFIG_EXIT_CODE)
  }
}
