import { Writable } from 'node:stream'
import { Logger, component, componentLogger, createApp, createLogger } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'

const lines: string[] = []
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  },
})

// #region component
const mailer = component('mailer', {
  eager: true,
  deps: { log: Logger }, // a child logger: every line carries component: 'mailer'
  create: ({ log }) => ({ send: (to: string) => log.info({ to }, 'mail sent') }),
})
// #endregion

// #region options
export const app = createApp({
  name: 'notifications',
  components: [mailer],
  logging: {
    level: 'debug', // default: LOG_LEVEL, else 'info'
    pretty: false, // default: true in development on a terminal
    redact: ['smtp.password'], // added to the keys redacted always (password, token, apiKey, ...)
    destination, // default standard output; or file: { path: 'logs/app.log', maxSize: '10m', keep: 5 }
  },
})
// #endregion

export async function main() {
  await using t = await startTestApp(app)
  t.get(mailer).send('ada@example.com')

  // #region standalone
  const log = createLogger({ name: 'import-job', level: 'info', destination })
  componentLogger(log, 'csv-reader').info({ rows: 120 }, 'file read') // {"component":"csv-reader",...}
  // #endregion
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
}
