import { database } from '@plinth/db'
import { createTestDatabase, probePostgres } from '@plinth/db/testing'
import { describe } from 'vitest'
import { jobsMigrations } from '../src/index.js'
import { describeConformance } from './conformance.js'

const postgres = await probePostgres()

describe.skipIf(!postgres.available)(postgres.title('the database queue on PostgreSQL'), () => {
  describeConformance({
    kind: 'database',
    fresh: async () => {
      // A database of this run's own, dropped at the end.
      const { url, drop } = await createTestDatabase('plinth_jobs')
      return {
        components: [database({ url, migrate: true }), jobsMigrations],
        options: { url: 'database' },
        childEnv: { JOBS_TEST_URL: url },
        cleanup: drop,
      }
    },
  })
})
