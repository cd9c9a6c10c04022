import { defineModule } from '@plinth/core'
import { featureFlags } from '@plinth/flags'
import { secrets } from '@plinth/secrets'
import type { Settings } from '../../config.js'
import { serviceFlags } from './flags.js'

/**
 * Secrets and feature flags (designs 000 and 002): the secrets the configuration was resolved
 * from (Vault when VAULT_ADDR is set, the environment otherwise), watched for rotation, with
 * each one's source at /health; and OpenFeature flags from the service, the configuration and
 * FLAGS_FILE, with `ai.remote` bound to the remote AI provider's health.
 */
export default defineModule({
  id: 'features',
  version: '1.0.0',
  required: true,
  components: [
    secrets(),
    featureFlags<Settings>({
      flags: (config) => ({ ...serviceFlags, ...config.flags }),
      file: (config) => config.flagsFile,
    }),
  ],
})
