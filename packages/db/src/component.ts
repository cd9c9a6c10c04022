/**
 * The database component: `database()` gives a provider of the `Database` token that creates a
 * lazily connected database, connects and migrates it at start, closes it at stop, and reports
 * its health.
 */
import { Application, Logger, Metrics, optional, provide, type App, type Provider, type Token } from '@plinth/core'
import { Database } from './contract.js'
import { LazyDatabase } from './database.js'
import { Migrations, planMigrations, type MigrationSet } from './migrations.js'
import { resolveDatabaseSettings, type DatabaseOptionsInput } from './options.js'
import { publishPoolMetrics } from './pool-metrics.js'
import { databaseProviders } from './preflight.js'

export interface DatabaseComponentOptions<N extends string> {
  /** The token to provide, for a second database: `token('analytics-db').of<Database>()`. Default `Database`. */
  token?: Token<Database, N>
  /** Start deadline, connection retries and migrations included. Default 300 000 ms. */
  startTimeout?: number
  /** Start at boot even when no eager component needs it, so migrations run at start. Default true. */
  eager?: boolean
}

export { Database }

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
  const provider = provide(target, {
    deps,
    create: ({ app, log, migrations, metrics }) => {
      const db = createDatabase(options, app, log, migrations, target.name)
      if (metrics) unpublish.set(db, publishPoolMetrics(metrics, target.name, () => db.poolStats()))
      return db
    },
    start: (db, { signal, degraded }) => db.start(signal, degraded),
    stop: async (db) => {
      unpublish.get(db)?.()
      await db.close()
    },
    health: (db, { signal }) => db.health(signal),
    eager: component.eager ?? true,
    startTimeout: component.startTimeout ?? 300_000,
  })
  databaseProviders.add(provider)
  return provider
}
