/**
 * A service whose start applies three migrations, run as a real process by the tests:
 * several at once (each migration must be applied exactly once), or killed in the middle of
 * the second one (MODE=slow, which announces itself on stderr and then sleeps inside the
 * migration's transaction). Each migration records the process that applied it in
 * `applied_log`, so the database itself says who applied what, and how often.
 */
import { createApp } from '@plinth/core'
import { database, defineMigrations } from '@plinth/db'
import { sql, type Kysely } from 'kysely'
import pino from 'pino'

const url = process.env.TEST_DATABASE_URL!
const mode = process.env.MODE ?? 'normal'
const postgres = url.startsWith('postgres')

const record = (db: Kysely<any>, migration: string) => db.insertInto('applied_log').values({ migration, pid: process.pid }).execute()

const inventory = defineMigrations('inventory', {
  '001_items': {
    up: async (db) => {
      await db.schema.createTable('applied_log').addColumn('migration', 'text').addColumn('pid', 'integer').execute()
      await db.schema.createTable('items').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('note', 'text').execute()
      await record(db, '001_items')
    },
  },
  '002_tags': {
    up: async (db) => {
      await db.schema.createTable('tags').addColumn('name', 'text', (c) => c.primaryKey()).execute()
      await db.insertInto('tags').values({ name: 'first' }).execute()
      await record(db, '002_tags')
      if (mode === 'slow') {
        process.stderr.write('MIGRATING 002_tags\n')
        if (postgres) await sql`select pg_sleep(30)`.execute(db)
        else await new Promise((resolve) => setTimeout(resolve, 30_000))
      } else {
        // Long enough for the other instances started at the same time to find the lock taken.
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    },
  },
  '003_item_price': {
    up: async (db) => {
      await db.schema.alterTable('items').addColumn('price', 'integer').execute()
      await record(db, '003_item_price')
    },
  },
})

const app = createApp({
  name: `migrating-app-${process.pid}`,
  components: [database({ url, migrate: true, connectTimeout: 20_000 }), inventory],
  logging: pino({ level: 'info' }, pino.destination(2)),
})

// With BARRIER=1, load everything, say so, and start only when the test writes a line: the
// processes then start migrating at the same moment however long each took to load.
if (process.env.BARRIER === '1') {
  process.stderr.write('LOADED\n')
  await new Promise((resolve) => process.stdin.once('data', resolve))
  process.stdin.pause()
}

try {
  await app.start({ env: {} })
  process.stdout.write(`STARTED ${process.pid}\n`)
  await app.stop()
} catch (error) {
  process.stderr.write(`FAILED ${String(error)}\n`)
  process.exitCode = 1
}
