import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONFIG_EXIT_CODE, defineConfig, isPlinthError, loadConfig } from '@plinth/core'
import { z } from 'zod'

// #region schema
const AppConfig = defineConfig({
  schema: z.object({
    http: z.object({ port: z.number().int().max(65_535) }),
    database: z.object({ url: z.string().startsWith('postgres://'), password: z.string().min(16) }),
    workers: z.number().int().positive(),
  }),
  defaults: { http: { port: 8000 }, workers: 4 },
})
// #endregion

export async function main() {
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-config-'))
  await mkdir(join(cwd, 'config'))
  await writeFile(join(cwd, 'config/production.yaml'), 'http:\n  port: 70000\n')
  let described = ''
  let exitCode = 0
  // #region load
  try {
    await loadConfig(AppConfig, {
      cwd,
      env: { APP_ENV: 'production', DATABASE_URL: 'mysql://db/orders', DATABASE_PASSWORD: 'hunter2' },
      argv: ['--workers=many'],
    })
  } catch (error) {
    if (!isPlinthError(error, 'PLINTH_ERR_INVALID_CONFIG')) throw error
    described = error.describe() // what `plinth start` and `plinth check` print
    exitCode = CONFIG_EXIT_CODE // 78, which they exit with
  }
  // #endregion
  return { described, exitCode }
}
