import { isPlinthError, type DatabaseRequirement } from '@plinth/core'
import { database, type DatabaseRequirementOptions } from '@plinth/db'
import type { Settings } from './config.js'
import { Unavailable } from './errors.js'

/**
 * The service's database: SQLite in the data directory, or PostgreSQL when DATABASE_URL says
 * so. Optional by default, so the service starts (readiness degraded) while the database is
 * down and uses it as soon as it answers; each module brings its own migrations
 * (`defineMigrations`), applied at connection in development or with DATABASE_MIGRATE=true.
 */
export const appDatabase = database(({ config }) => {
  // The database options are read before the container exists, from the loaded configuration.
  const settings = config as Settings
  return { url: settings.databaseUrl, dataDir: settings.dataDir, optional: settings.database.optional, migrate: settings.database.migrate }
})

/**
 * The database as the bootstrap phase sees it: the one DATABASE_URL names (created there on
 * PostgreSQL at the first start when it does not exist yet), else `app.sqlite` in the data
 * directory. `plinth bootstrap --dry-run` lists it. Optional like the component: while its
 * server cannot be reached the service starts without it, and a later start creates it.
 */
export const appDatabaseRequirement: DatabaseRequirement = {
  name: 'app',
  optional: true,
  options: { urlDatabase: true, url: (config: Settings) => config.databaseUrl } satisfies DatabaseRequirementOptions,
}

/**
 * Runs database work; while the database cannot be reached, fails with `Unavailable` (503,
 * Retry-After `retryAfter` seconds) instead of the database's own error, so that every
 * protocol tells its client to come back later.
 *
 * @example
 * const rows = await whileAvailable(5, () => db.kysely.selectFrom('telemetry_devices').selectAll().execute())
 */
export async function whileAvailable<T>(retryAfter: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw unavailableOf(error, retryAfter) ?? error
  }
}

/**
 * The `Unavailable` (503, Retry-After `retryAfter` seconds) that a database error means, or
 * undefined when it means something else: for errors raised by database work the service does
 * not run itself, such as @plinth/auth's, so that they answer as `whileAvailable` does.
 *
 * @example
 * http.setErrorHandler((error, request) => {
 *   throw toHttpProblem(unavailableOf(error, 5) ?? error, request)
 * })
 */
export function unavailableOf(error: unknown, retryAfter: number): Unavailable | undefined {
  if (unusable.some((code) => isPlinthError(error, code))) {
    return new Unavailable(`the database is unavailable; try again in ${retryAfter} s`, retryAfter, error)
  }
  if (schemaMissing(error)) return new Unavailable(`the database's tables are not in place yet (pending migrations); try again in ${retryAfter} s`, retryAfter, error)
  return undefined
}

/** The database cannot serve yet, for a reason the client cannot fix: unreachable, not created, refused, or not migrated. */
const unusable = [
  'PLINTH_ERR_DB_UNAVAILABLE',
  'PLINTH_ERR_DB_CONNECT_FAILED',
  'PLINTH_ERR_DB_NOT_FOUND',
  'PLINTH_ERR_DB_AUTH_FAILED',
  'PLINTH_ERR_MIGRATION_FAILED',
  'PLINTH_ERR_MIGRATION_LOCK_TIMEOUT',
] as const

/** A table the code needs is not there: PostgreSQL's undefined_table, SQLite's "no such table". */
function schemaMissing(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return code === '42P01' || (typeof message === 'string' && message.startsWith('no such table'))
}
