import { randomBytes } from 'node:crypto'
import { createApp } from '@plinth/core'
import { probeService, startTestApp } from '@plinth/core/testing'
import { Database, database } from '@plinth/db'
import pg from 'pg'
import { describe } from 'vitest'
import { SqlAuthStore, authMigrations } from '../src/index.js'
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

describe.skipIf(!postgres.available)(postgres.title('SqlAuthStore on PostgreSQL'), () => {
  describeConformance({
    // A database of its own per test, dropped after it: runs in parallel never meet.
    fresh: async () => {
      const name = `plinth_auth_${process.pid}_${randomBytes(4).toString('hex')}`
      await admin(`create database "${name}"`)
      const url = new URL(ADMIN_URL)
      url.pathname = `/${name}`
      const app = createApp({ name: 'auth-postgres', components: [database({ url: url.toString(), migrate: true }), authMigrations()], logging: { level: 'silent' } })
      const running = await startTestApp(app)
      return {
        store: new SqlAuthStore(running.get(Database)),
        cleanup: async () => {
          await running[Symbol.asyncDispose]()
          await admin(`drop database if exists "${name}" with (force)`)
        },
      }
    },
  })
})
