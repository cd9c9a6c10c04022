import { CONFIG_EXIT_CODE, isPlinthError } from '@plinth/core'
import { resolveSecretReferences, type PreparedSecrets } from '@plinth/secrets'
import { AppConfig, vaultBindings } from '../../config.js'

export { vaultBindings }

/**
 * Resolves the secret references of `env` into it ahead of the configuration's own loading (which
 * resolves them too, as a source of AppConfig), for code that needs the secrets before the app
 * starts; on a bad reference, prints every problem and exits 78, as invalid configuration does.
 *
 * @example
 * const { secrets } = await prepareSecrets(process.env)
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
