/** Stores on fresh space for the tests: a SQLite file of their own, a PostgreSQL schema of their own. */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { probeService } from '@plinth/core/testing'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { SqlEventStore, eventStoreMigrations } from '../src/index.js'

export interface SqlHarness {
  open(): Promise<SqlEventStore>
  dispose(): Promise<void>
}

export const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export const postgres = await probeService('PostgreSQL', async () => {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  await client.end()
})

async function migrate(db: Kysely<any>): Promise<void> {
  for (const migration of Object.values(eventStoreMigrations)) await migration.up(db)
}

/**
 * Every open() on one harness shares one database, as instances of one app do. On SQLite they
 * share one connection: better-sqlite3 waits for a lock synchronously, so two connections in one
 * process would block the very event loop the lock holder needs (separate processes do not).
 */
export function sqliteHarness(): SqlHarness {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-events-'))
  const dbs: Kysely<any>[] = []
  return {
    async open() {
      if (dbs[0] === undefined) {
        dbs.push(new Kysely<any>({ dialect: new SqliteDialect({ database: new BetterSqlite3(join(dir, 'events.sqlite'), { timeout: 5_000 }) }) }))
        await migrate(dbs[0]!)
      }
      return new SqlEventStore(dbs[0]!, { dialect: 'sqlite' })
    },
    async dispose() {
      for (const db of dbs) await db.destroy()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function postgresHarness(): SqlHarness {
  const schema = `plinth_events_${randomBytes(4).toString('hex')}`
  const dbs: Kysely<any>[] = []
  let created = false
  return {
    async open() {
      if (!created) {
        const admin = new pg.Client({ connectionString: postgresUrl })
        await admin.connect()
        await admin.query(`create schema ${schema}`)
        await admin.end()
        created = true
      }
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: postgresUrl, max: 10, options: `-c search_path=${schema}` }) }) })
      dbs.push(db)
      await migrate(db)
      return new SqlEventStore(db, { dialect: 'postgres' })
    },
    async dispose() {
      if (dbs[0]) await sql.raw(`drop schema if exists ${schema} cascade`).execute(dbs[0])
      for (const db of dbs) await db.destroy()
    },
  }
}
