import { randomBytes } from 'node:crypto'
import { probeService } from '@plinth/core/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { SqlEventStore, eventStoreMigrations } from '../src/index.js'
import { eventStoreConformance } from './conformance.js'

const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const postgres = await probeService('PostgreSQL', async () => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.end()
})

eventStoreConformance(postgres.title('PostgreSQL'), () => {
  // Each run in a schema of its own, so that runs on one server never see each other's events.
  const schema = `plinth_events_${randomBytes(4).toString('hex')}`
  let db: Kysely<any> | undefined
  return {
    async open() {
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`create schema ${schema}`)
      await admin.end()
      db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10, options: `-c search_path=${schema}` }) }) })
      for (const migration of Object.values(eventStoreMigrations)) await migration.up(db)
      return new SqlEventStore(db, { dialect: 'postgres' })
    },
    async dispose() {
      if (db) {
        await sql.raw(`drop schema if exists ${schema} cascade`).execute(db)
        await db.destroy()
      }
    },
  }
}, postgres.available)
