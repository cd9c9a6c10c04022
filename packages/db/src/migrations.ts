/**
 * Migrations as modules declare them: a set per module, contributed to the `Migrations` multi
 * token like any other component, so that a module brings its schema with it and an excluded
 * module's migrations are not run.
 */
import { provide, token, type MultiProvider, type Token } from '@plinth/core'
import type { Kysely } from 'kysely'
import { dbErrors } from './errors.js'

/** One schema change. It runs inside a transaction unless `transaction` is false. */
export interface Migration {
  /** Applies the change. `db` is bound to the migration's connection and transaction: use it, not the app's instance. */
  up(db: Kysely<any>): void | Promise<void>
  /** Reverts it, for `plinth migrate down`. */
  down?(db: Kysely<any>): void | Promise<void>
  /**
   * Default true. Set false for statements PostgreSQL refuses in a transaction (CREATE INDEX
   * CONCURRENTLY); such a migration is not rolled back when it fails or is killed, so write it
   * to be safe to run again (IF NOT EXISTS).
   */
  transaction?: boolean
}

/** The migrations of one module, for one database. */
export interface MigrationSet {
  readonly module: string
  /** The name of the database component they are for. Default 'database'. */
  readonly database: string
  /** Applied in the order of their names: prefix them with a number or a date (`001_users`). */
  readonly migrations: Readonly<Record<string, Migration>>
}

/** Every module's migrations; each database component applies the sets meant for it. */
export const Migrations = token('migrations').many<MigrationSet>()

/** A migration in the order it is applied. */
export interface PlannedMigration {
  readonly module: string
  readonly name: string
  readonly migration: Migration
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/

/**
 * Declares a module's migrations. Put the result among the module's components. Within a module
 * they run in the order of their names; modules run in the order the app lists them.
 *
 * @example
 * export const usersSchema = defineMigrations('users', {
 *   '001_create_users': {
 *     up: (db) => db.schema.createTable('users').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('email', 'text').execute(),
 *     down: (db) => db.schema.dropTable('users').execute(),
 *   },
 * })
 * export default defineModule({ id: 'users', components: [usersSchema, usersRepository] })
 */
export function defineMigrations(
  module: string,
  migrations: Readonly<Record<string, Migration>>,
  options: { database?: string | Token<unknown> } = {},
): MultiProvider<MigrationSet, 'migrations'> {
  const problems: string[] = []
  if (!namePattern.test(module)) problems.push(`the module name ${JSON.stringify(module)} must be 1-200 letters, digits, _ . : or -`)
  for (const [name, migration] of Object.entries(migrations)) {
    if (!namePattern.test(name)) problems.push(`the name ${JSON.stringify(name)} must be 1-200 letters, digits, _ . : or -, starting with a letter or digit`)
    if (typeof migration?.up !== 'function') problems.push(`"${name}" needs an up(db) function`)
    if (migration?.down !== undefined && typeof migration.down !== 'function') problems.push(`"${name}".down must be a function`)
  }
  if (problems.length > 0) {
    throw dbErrors.create('PLINTH_ERR_MIGRATION_INVALID', `the migrations of module "${module}" are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
  const database = typeof options.database === 'object' ? options.database.name : (options.database ?? 'database')
  return provide(Migrations, { value: { module, database, migrations } })
}

/**
 * The migrations for one database, in the order they are applied: module by module in the order
 * given, each module's by name. Two sets of one module are merged; a name declared twice is an error.
 *
 * @example
 * planMigrations([{ module: 'users', database: 'database', migrations: { '002_b': b, '001_a': a } }], 'database')
 * // [{ module: 'users', name: '001_a', ... }, { module: 'users', name: '002_b', ... }]
 */
export function planMigrations(sets: readonly MigrationSet[], database: string): PlannedMigration[] {
  const byModule = new Map<string, Map<string, Migration>>()
  const duplicates: string[] = []
  for (const set of sets) {
    if (set.database !== database) continue
    const names = byModule.get(set.module) ?? new Map<string, Migration>()
    byModule.set(set.module, names)
    for (const [name, migration] of Object.entries(set.migrations)) {
      if (names.has(name)) duplicates.push(`${set.module}/${name}`)
      names.set(name, migration)
    }
  }
  if (duplicates.length > 0) {
    throw dbErrors.create('PLINTH_ERR_MIGRATION_INVALID', `migrations declared twice for database "${database}": ${duplicates.join(', ')}`)
  }
  const plan: PlannedMigration[] = []
  for (const [module, names] of byModule) {
    for (const name of [...names.keys()].sort(compareNames)) plan.push({ module, name, migration: names.get(name)! })
  }
  return plan
}

/** Plain code-unit order, the same on every machine whatever its locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
