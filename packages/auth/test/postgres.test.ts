import { createApp } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Database, database } from '@plinth/db'
import { createTestDatabase, probePostgres } from '@plinth/db/testing'
import { describe } from 'vitest'
import { SqlAuthStore, authMigrations } from '../src/index.js'
import { describeConformance } from './conformance.js'

const postgres = await probePostgres()

describe.skipIf(!postgres.available)(postgres.title('SqlAuthStore on PostgreSQL'), () => {
  describeConformance({
    // A database of its own per test, dropped after it: runs in parallel never meet.
    fresh: async () => {
      const { url, drop } = await createTestDatabase('plinth_auth')
      const app = createApp({ name: 'auth-postgres', components: [database({ url, migrate: true }), authMigrations()], logging: { level: 'silent' } })
      const running = await startTestApp(app)
      return {
        store: new SqlAuthStore(running.get(Database)),
        cleanup: async () => {
          await running[Symbol.asyncDispose]()
          await drop()
        },
      }
    },
  })
})
