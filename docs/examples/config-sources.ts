import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig, loadConfig } from '@plinth/core'
import { z } from 'zod'

const AppConfig = defineConfig({
  schema: z.object({
    http: z.object({ host: z.string(), port: z.number() }),
    database: z.object({ url: z.string(), poolSize: z.number() }),
    logLevel: z.string(),
  }),
  defaults: {
    http: { host: '127.0.0.1', port: 8000 },
    database: { url: 'file:./data/orders.db', poolSize: 5 },
    logLevel: 'info',
  },
})

export async function main() {
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-config-'))
  await mkdir(join(cwd, 'config'))
  // #region files
  await writeFile(join(cwd, 'config/production.yaml'), 'http:\n  host: 0.0.0.0\ndatabase:\n  poolSize: 20\n')
  await writeFile(join(cwd, '.env'), 'DATABASE_POOL_SIZE=10\nLOG_LEVEL=debug\n')

  const loaded = await loadConfig(AppConfig, {
    cwd, // where config/ and .env are looked up; default process.cwd()
    env: { APP_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: 'postgres://db/orders' }, // default process.env
    argv: ['--http.port=9000'], // default none; `plinth start` and run(app) pass the command line
  })
  // #endregion

  // #region report
  const lines = [...loaded.sources].map(([key, source]) => `${key.padEnd(18)} ${source}`)
  // #endregion
  return { appEnv: loaded.appEnv, value: loaded.value, report: lines.join('\n') }
}
