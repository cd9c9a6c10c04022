import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { SqlEventStore, eventStoreMigrations } from '../src/index.js'
import { eventStoreConformance } from './conformance.js'

eventStoreConformance('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-events-'))
  let db: Kysely<any> | undefined
  return {
    async open() {
      db = new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(join(dir, 'events.sqlite')) }) })
      for (const migration of Object.values(eventStoreMigrations)) await migration.up(db)
      return new SqlEventStore(db, { dialect: 'sqlite' })
    },
    async dispose() {
      await db?.destroy()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
