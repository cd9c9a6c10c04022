import { defineConfig, isPlinthError, loadConfig } from '@plinth/core'
import { z } from 'zod'

const AppConfig = defineConfig({ schema: z.object({ port: z.number().default(8000) }) })

export async function main() {
  // #region unknown
  try {
    await loadConfig(AppConfig, { env: { APP_ENV: 'prod' } })
  } catch (error) {
    if (isPlinthError(error, 'PLINTH_ERR_INVALID_CONFIG')) return error.describe()
    throw error
  }
  // #endregion
  return 'loaded'
}
