import { isPlinthError } from '@plinth/core'
import { database } from '@plinth/db'
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
  return { url: settings.databaseUrl, dataDir: settings.dataDir, optional: settings.database.optional }
})

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
    if (isPlinthError(error, 'PLINTH_ERR_DB_UNAVAILABLE') || isPlinthError(error, 'PLINTH_ERR_DB_CONNECT_FAILED')) {
      throw new Unavailable(`the database is unavailable; try again in ${retryAfter} s`, retryAfter, error)
    }
    throw error
  }
}
