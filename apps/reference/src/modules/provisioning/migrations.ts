import { defineMigrations } from '@plinth/db'

/**
 * The provisioning module's read model: one row per device, written only by the
 * `provisioned-devices` projection (in the transaction that moves its checkpoint), so it can
 * always be rebuilt from the events (`plinth projections rebuild provisioned-devices`).
 */
export const provisioningMigrations = defineMigrations('provisioning', {
  '001_provisioned_devices': {
    up: async (db) => {
      await db.schema
        .createTable('provisioning_devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('settings', 'text') // JSON, while configured
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
    },
    down: async (db) => {
      await db.schema.dropTable('provisioning_devices').execute()
    },
  },
})
