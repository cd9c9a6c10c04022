/**
 * A dedupe store in the app's database (@plinth/db: SQLite or PostgreSQL), so that every
 * instance of a group shares what has been handled.
 */
import type { Database } from '@plinth/db'
import type { DedupeStore } from './dedupe.js'

export interface DatabaseDedupeOptions {
  /** Table name. Default "plinth_messaging_handled". */
  table?: string
  /** How long a handled id is remembered, in ms. Default 7 days. */
  retention?: number
}

interface HandledRow {
  group_name: string
  message_id: string
  handled_at: number
}

/**
 * Keeps handled message ids in a table of the app's database, created on first use; ids older
 * than `retention` are deleted now and then, as remembering goes on.
 *
 * @example
 * component('bus-dedupe', { deps: { db: Database }, create: ({ db }) => databaseDedupe(db) })
 */
export function databaseDedupe(db: Pick<Database, 'kysely'>, options: DatabaseDedupeOptions = {}): DedupeStore {
  const table = options.table ?? 'plinth_messaging_handled'
  const retention = options.retention ?? 7 * 24 * 60 * 60 * 1000
  const kysely = db.kysely
  let ready: Promise<void> | undefined
  let remembered = 0
  const ensure = () =>
    (ready ??= kysely.schema
      .createTable(table)
      .ifNotExists()
      .addColumn('group_name', 'varchar(100)', (column) => column.notNull())
      .addColumn('message_id', 'varchar(200)', (column) => column.notNull())
      .addColumn('handled_at', 'bigint', (column) => column.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['group_name', 'message_id'])
      .execute()
      .then(() => undefined, (error: unknown) => {
        ready = undefined
        throw error
      }))
  return {
    async seen(group, id) {
      await ensure()
      const row = await kysely.selectFrom(table).select('message_id').where('group_name', '=', group).where('message_id', '=', id).executeTakeFirst()
      return row !== undefined
    },
    async remember(group, id) {
      await ensure()
      const row: HandledRow = { group_name: group, message_id: id, handled_at: Date.now() }
      await kysely.insertInto(table).values(row).onConflict((conflict) => conflict.columns(['group_name', 'message_id']).doNothing()).execute()
      // Prune in passing rather than with a timer of its own.
      if (++remembered % 1_000 === 0) await kysely.deleteFrom(table).where('handled_at', '<', Date.now() - retention).execute()
    },
  }
}
