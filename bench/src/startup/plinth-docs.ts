// Process start to ready, for row 8: as plinth.ts, with the OpenAPI docs and Swagger UI served in
// production too (they are off there by default). Prints READY once start() has resolved and exits.
import { createApp } from '@plinth/core'
import { httpServer } from '@plinth/http'

const app = createApp({ name: 'empty', components: [httpServer({ port: 0, docs: {} })], logging: { level: 'silent' }, shutdown: { drainDelay: 0 } })
await app.start({ env: { APP_ENV: 'production' }, argv: [] })
process.stdout.write('READY\n')
await app.stop('measured')
