import { Writable } from 'node:stream'
import { component, createApp, defineConfig, Logger } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { z } from 'zod'

const lines: string[] = []
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  },
})

// #region secrets
export const AppConfig = defineConfig({
  schema: z.object({
    database: z.object({ url: z.string(), password: z.string() }), // `password`: secret by its name
    payments: z.object({ endpoint: z.string(), apiKey: z.string() }), // `apiKey`: secret by its name
    sentryDsn: z.string(),
  }),
  secrets: ['database.url', 'sentryDsn'], // secret because listed (a URL can carry credentials)
})
// #endregion

// #region log
const payments = component('payments', {
  eager: true,
  deps: { config: AppConfig, log: Logger },
  create: ({ config, log }) => {
    log.info({ payments: config.payments }, 'payments client ready') // apiKey is written as [redacted]
    return {}
  },
})
// #endregion

export const app = createApp({ name: 'shop', config: AppConfig, components: [payments], logging: { level: 'info', destination } })

export async function main() {
  await using t = await startTestApp(app, {
    env: {
      DATABASE_URL: 'postgres://shop:s3cr3t@db/shop',
      DATABASE_PASSWORD: 's3cr3t',
      PAYMENTS_ENDPOINT: 'https://pay.example',
      PAYMENTS_API_KEY: 'sk_live_123456',
      SENTRY_DSN: 'https://key@sentry.example/1',
    },
  })
  // #region redacted
  const config = t.app.config
  const printable = config?.redacted() // every secret replaced by '[redacted]'; config.value keeps them
  // #endregion
  const logged = lines.find((line) => line.includes('payments client ready')) ?? ''
  return { printable, logged, value: config?.value }
}
