/**
 * The database component: `database()` gives a provider of the `Database` token that creates a
 * lazily connected database, connects and migrates it at start, closes it at stop, and reports
 * its health.
 */
import { Application, Logger, Metrics, optional, provide, token, type App, type HealthResult, type PlinthError, type Provider, type Token } from '@plinth/core'
import type { Kysely } from 'kysely'
import { LazyDatabase, type DatabaseState } from './database.js'
import type { PoolStats } from './driver.js'
import { Migrations, planMigrations, type MigrationSet } from './migrations.js'
import type { Migrator } from './migrator.js'
import { resolveDatabaseSettings, type DatabaseOptionsInput } from './options.js'
import { publishPoolMetrics } from './pool-metrics.js'
import type { Dialect } from './url.js'

/**
 * A database: Kysely over SQLite or PostgreSQL, lazily connected. Get it from the container
 * (`deps: { db: Database }`); the `database()` component makes it.
 */
export interface Database {
  /** The component's name. */
  readonly name: string
  readonly dialect: Dialect
  /** The URL with its password replaced by `***`. */
  readonly url: string
  /** Kysely for the application: its first query waits until the database is connected and migrated. */
  readonly kysely: Kysely<any>
  readonly migrator: Migrator
  readonly state: DatabaseState
  /** Why the database is not ready, when it is not. */
  readonly lastError: PlinthError | undefined
  /** True when it may run without its database (SKIP_DB_INIT). */
  readonly optional: boolean
  /** The same Kysely instance, typed with the tables of `DB`. */
  typed<DB>(): Kysely<DB>
  /** Connections open, in use and waited for: for metrics and health details. */
  poolStats(): PoolStats
  /** Resolves once connected and migrated; rejects with why not (each call tries again). */
  whenReady(): Promise<void>
  /** The start hook: connect (and migrate) now, or, when optional, in the background. */
  start(signal?: AbortSignal): Promise<void>
  connect(signal?: AbortSignal): Promise<void>
  connectInBackground(maxDelay?: number): void
  ping(options?: { timeout?: number; signal?: AbortSignal }): Promise<number>
  health(signal?: AbortSignal): Promise<HealthResult>
  close(): Promise<void>
}


/**
 * The application's database.
 *
 * @example
 * component('users', { deps: { db: Database }, create: ({ db }) => new UserRepository(db.typed<Tables>()) })
 */
export const Database = token('database').of<Database>()

export interface DatabaseComponentOptions<N extends string> {
  /** The token to provide, for a second database: `token('analytics-db').of<Database>()`. Default `Database`. */
  token?: Token<Database, N>
  /** Start deadline, connection retries and migrations included. Default 300 000 ms. */
  startTimeout?: number
  /** Start at boot even when no eager component needs it, so migrations run at start. Default true. */
  eager?: boolean
}

const deps = { app: Application, log: Logger, migrations: Migrations, metrics: optional(Metrics) }

/**
 * Creates a database from its options, the app (configuration, name) and the migrations declared
 * for it, without connecting: what the component's factory does, for tools that build one alone.
 *
 * @example
 * const db = createDatabase({ url: 'sqlite::memory:' }, app, app.logger, [], 'database')
 * await db.connect()
 */
export function createDatabase(input: DatabaseOptionsInput, app: App, log: Logger, sets: readonly MigrationSet[], name: string): LazyDatabase {
  const settings = resolveDatabaseSettings(
    input,
    { config: app.config?.value, appEnv: app.appEnv, env: app.env, appName: app.name, cwd: process.cwd() },
    name,
  )
  return new LazyDatabase(settings, planMigrations(sets, name), log)
}

/**
 * The database component. Nothing connects when it is created: it connects at start (retrying
 * with backoff within `connectTimeout`), applies pending migrations when configured, and closes
 * at stop. With `optional` (or SKIP_DB_INIT) the app starts without it and it connects when it
 * can. Settings come from the options, else the environment (see `DatabaseOptions`).
 *
 * @example
 * export const app = createApp({
 *   name: 'orders',
 *   components: [database({ pool: { max: 20 } })],
 *   modules: [users], // users' components include defineMigrations('users', {...})
 * })
 * // settings from the app's configuration:
 * database(({ config }) => ({ url: (config as AppConfig).database.url }))
 */
export function database<N extends string = 'database'>(
  options: DatabaseOptionsInput = {},
  component: DatabaseComponentOptions<N> = {},
): Provider<Database, N, typeof deps> {
  const target = (component.token ?? Database) as Token<Database, N>
  const unpublish = new WeakMap<Database, () => void>()
  return provide(target, {
    deps,
    create: ({ app, log, migrations, metrics }) => {
      const db = createDatabase(options, app, log, migrations, target.name)
      if (metrics) unpublish.set(db, publishPoolMetrics(metrics, target.name, () => db.poolStats()))
      return db
    },
    start: (db, { signal }) => db.start(signal),
    stop: async (db) => {
      unpublish.get(db)?.()
      await db.close()
    },
    health: (db, { signal }) => db.health(signal),
    eager: component.eager ?? true,
    startTimeout: component.startTimeout ?? 300_000,
  })
}
