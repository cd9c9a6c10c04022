/**
 * The event store's tables, as migrations of its own (module "plinth-events"), applied with the
 * app's other migrations under @plinth/db's lock. Data and metadata are JSON text on both
 * dialects, so a value reads back exactly as it was written whatever the driver parses.
 */
import { sql, type Kysely } from 'kysely'
import type { Migration } from '@plinth/db'

export const eventTables = {
  events: 'plinth_events',
  streams: 'plinth_event_streams',
  checkpoints: 'plinth_event_checkpoints',
  snapshots: 'plinth_event_snapshots',
  sagas: 'plinth_sagas',
} as const

async function isPostgres(db: Kysely<any>): Promise<boolean> {
  // The migration is handed a Kysely bound to its connection; asking the server is the one check
  // that cannot disagree with the driver actually in use.
  try {
    await sql`select pg_backend_pid()`.execute(db)
    return true
  } catch {
    return false
  }
}

/** The store's migrations, in the order they apply. */
export const eventStoreMigrations: Readonly<Record<string, Migration>> = {
  '001_events': {
    async up(db) {
      const postgres = await isPostgres(db)
      await db.schema
        .createTable(eventTables.events)
        .ifNotExists()
        .addColumn('position', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('plinth_events_stream_version', ['stream', 'version'])
        .execute()
      // Each stream's version, which PostgreSQL's append upserts under its lock; on SQLite a
      // stream's version is read from its last event instead (append-statement.ts).
      await db.schema
        .createTable(eventTables.streams)
        .ifNotExists()
        .addColumn('stream', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable(eventTables.checkpoints)
        .ifNotExists()
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('position', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable(eventTables.snapshots)
        .ifNotExists()
        .addColumn('stream', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('taken_at', 'text', (c) => c.notNull())
        .execute()
    },
    async down(db) {
      for (const table of Object.values(eventTables)) await db.schema.dropTable(table).ifExists().execute()
    },
  },
  '002_sagas': {
    // One row per saga, rewritten after every step (see saga-store.ts); waiting sagas are found
    // by the event they wait for, and by their deadline.
    async up(db) {
      await db.schema
        .createTable(eventTables.sagas)
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('steps', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('waiting_type', 'text')
        .addColumn('waiting_key', 'text')
        .addColumn('deadline', 'bigint')
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('plinth_sagas_status').ifNotExists().on(eventTables.sagas).columns(['status', 'waiting_type', 'waiting_key']).execute()
    },
    async down(db) {
      await db.schema.dropTable(eventTables.sagas).ifExists().execute()
    },
  },
}
