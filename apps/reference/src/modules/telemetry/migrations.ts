import { defineMigrations } from '@plinth/db'

/**
 * The telemetry module's tables. Times are RFC 3339 text in UTC, which sorts in time order on
 * SQLite and PostgreSQL alike. A reading's key is (device, time, metric): a device that re-sends
 * a reading it got no acknowledgement for stores it once.
 */
export const telemetryMigrations = defineMigrations('telemetry', {
  '001_devices_and_readings': {
    up: async (db) => {
      await db.schema
        .createTable('telemetry_devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull()) // JSON
        .addColumn('registered_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('telemetry_readings')
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addPrimaryKeyConstraint('telemetry_readings_pk', ['device_id', 'recorded_at', 'metric'])
        .execute()
    },
    down: async (db) => {
      await db.schema.dropTable('telemetry_readings').execute()
      await db.schema.dropTable('telemetry_devices').execute()
    },
  },
  '002_rules_and_findings': {
    up: async (db) => {
      await db.schema
        .createTable('telemetry_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('metric', 'text')
        .addColumn('above', 'double precision')
        .addColumn('below', 'double precision')
        .addColumn('seconds', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('telemetry_rules_device').on('telemetry_rules').column('device_id').execute()
      await db.schema
        .createTable('telemetry_findings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('observed_at', 'text', (c) => c.notNull())
        .addColumn('raised_at', 'text', (c) => c.notNull())
        .execute()
      // One finding per rule and moment: a silence found by two instances, or twice by one, is recorded once.
      await db.schema.createIndex('telemetry_findings_once').on('telemetry_findings').columns(['rule_id', 'observed_at']).unique().execute()
      await db.schema.createIndex('telemetry_findings_device').on('telemetry_findings').columns(['device_id', 'raised_at']).execute()
    },
    down: async (db) => {
      await db.schema.dropTable('telemetry_findings').execute()
      await db.schema.dropTable('telemetry_rules').execute()
    },
  },
})
