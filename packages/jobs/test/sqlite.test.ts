import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@plinth/db'
import { describe } from 'vitest'
import { jobsMigrations } from '../src/index.js'
import { describeConformance } from './conformance.js'

describe('the database queue on SQLite', () => {
  describeConformance({
    kind: 'database',
    fresh: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'plinth-jobs-'))
      const url = `sqlite:${join(dir, 'jobs.sqlite')}`
      return {
        components: [database({ url, migrate: true }), jobsMigrations],
        options: { url: 'database' },
        childEnv: { JOBS_TEST_URL: url },
        cleanup: () => rm(dir, { recursive: true, force: true }),
      }
    },
  })
})
