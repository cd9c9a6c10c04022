/**
 * @plinth/db: Kysely over SQLite (better-sqlite3, the default) and PostgreSQL (pg) as a Plinth
 * component: lazy and optional connections, pool figures, health, migrations per module under a
 * lock, `plinth migrate`, and the bootstrap phase's database handler.
 */
export { dbErrors } from './errors.js'
export { Database, database, type DatabaseComponentOptions } from './component.js'
export type { DatabaseState } from './contract.js'
export type { PoolStats } from './driver.js'
export type { PoolSettings } from './engine.js'
export { Migrations, defineMigrations, planMigrations, type Migration, type MigrationSet, type PlannedMigration } from './migrations.js'
export { MIGRATIONS_TABLE, Migrator, type AppliedMigration, type MigrationStatus } from './migrator.js'
export { resolveDatabaseSettings, type DatabaseOptions, type DatabaseOptionsInput, type OptionsContext } from './options.js'
export { parseDatabaseUrl, redactUrl, scrubSecrets, siblingDatabaseUrl, type DatabaseLocation, type Dialect } from './url.js'
export { sqlDatabaseDriver, tablesCreatedBy, type DatabaseRequirementOptions } from './bootstrap-driver.js'

// Registered on import, like core's own commands: importing @plinth/db is how an app gets
// `plinth migrate` and the bootstrap phase's database driver. Neither does any I/O here.
import { registerDatabaseDriver } from '@plinth/core'
import { sqlDatabaseDriver } from './bootstrap-driver.js'
import './migrate-command.js'
registerDatabaseDriver(sqlDatabaseDriver)
