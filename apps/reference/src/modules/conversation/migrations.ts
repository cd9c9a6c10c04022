import { defineMigrations } from '@plinth/db'

/** The conversation module's table: one row per exchange (a message and its reply). */
export const conversationMigrations = defineMigrations('conversation', {
  '001_exchanges': {
    up: async (db) => {
      await db.schema
        .createTable('conversation_exchanges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('child_id', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('reply', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        // 0 or 1: SQLite has no boolean type.
        .addColumn('fallback', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('conversation_exchanges_child').on('conversation_exchanges').columns(['child_id', 'at']).execute()
    },
    down: (db) => db.schema.dropTable('conversation_exchanges').execute(),
  },
})
