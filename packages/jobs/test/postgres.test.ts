import { randomBytes } from 'node:crypto'
import { probeService } from '@plinth/core/testing'
import { database } from '@plinth/db'
import pg from 'pg'
import { describe } from 'vitest'
import { jobsMigrations } from '../src/index.js'
import { describeConformance } from './conformance.js'

const ADMIN_URL = process.env.PLINTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2_000 })
  client.on('error', () => undefined)
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const postgres = await probeService('PostgreSQL', () => admin('select 1'))

describe.skipIf(!postgres.available)(postgres.title('the database queue on PostgreSQL'), () => {
  describeConformance({
    kind: 'database',
    fresh: async () => {
      // A database of this run's own, dropped at the end.
      const name = `plinth_jobs_${process.pid}_${randomBytes(4).toString('hex')}`
      await admin(`create database "${name}"`)
      const url = new URL(ADMIN_URL)
      url.pathname = `/${name}`
      return {
        components: [database({ url: url.toString(), migrate: true }), jobsMigrations],
        options: { url: 'database' },
        childEnv: { JOBS_TEST_URL: url.toString() },
        cleanup: () => admin(`drop database if exists "${name}" with (force)`),
      }
    },
  })
})
