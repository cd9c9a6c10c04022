/**
 * Auth's own tables, created by @plinth/db's migrator like any module's: `auth_users`,
 * `auth_refresh_families`, `auth_refresh_tokens` and `auth_audit_events`. Times are epoch
 * milliseconds in bigint columns, the same on SQLite and PostgreSQL.
 */
import { defineMigrations, type Migration } from '@plinth/db'

const createTables: Migration = {
  up: async (db) => {
    await db.schema
      .createTable('auth_users')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('email', 'varchar(320)', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('token_version', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('auth_refresh_families')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('auth_users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoke_reason', 'varchar(64)')
      .execute()
    await db.schema.createIndex('auth_refresh_families_user').on('auth_refresh_families').column('user_id').execute()
    await db.schema
      .createTable('auth_refresh_tokens')
      .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('family_id', 'varchar(64)', (c) => c.notNull().references('auth_refresh_families.id').onDelete('cascade'))
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('issued_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute()
    await db.schema.createIndex('auth_refresh_tokens_family').on('auth_refresh_tokens').column('family_id').execute()
    await db.schema
      .createTable('auth_audit_events')
      .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)')
      .addColumn('ip', 'varchar(64)')
      .addColumn('details', 'text')
      .execute()
    await db.schema.createIndex('auth_audit_events_user').on('auth_audit_events').columns(['user_id', 'id']).execute()
  },
  down: async (db) => {
    for (const table of ['auth_audit_events', 'auth_refresh_tokens', 'auth_refresh_families', 'auth_users']) await db.schema.dropTable(table).execute()
  },
}

/**
 * Auth's migrations, for the database component named `database` (or the one given).
 *
 * @example
 * createApp({ name: 'api', components: [database(), authMigrations()] })
 */
export function authMigrations(options: { database?: string } = {}) {
  return defineMigrations('auth', { '001_auth_tables': createTables }, options)
}
