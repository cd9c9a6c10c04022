/**
 * A database component's settings: what the code says, else the environment (DATABASE_URL,
 * DATA_DIR, SKIP_DB_INIT, DATABASE_MIGRATE, DATABASE_POOL_MAX, DATABASE_POOL_MIN), else the
 * defaults. Read when the component is created, never at import.
 */
import { resolve } from 'node:path'
import { PlinthError, type RetryOptions } from '@plinth/core'
import type { DatabaseSettings } from './database.js'
import { parseDatabaseUrl, siblingDatabaseUrl } from './url.js'

export interface DatabaseOptions {
  /** `postgres://user:password@host:5432/db`, or `sqlite:path`. Default: env DATABASE_URL, else SQLite in the data directory. */
  url?: string
  /**
   * A database name: on PostgreSQL the database of that name on DATABASE_URL's server, on SQLite
   * `<dataDir>/<name>.sqlite`. This is how a module's `bootstrap.databases` entry is found. Default:
   * the URL's own database, or `app` for SQLite.
   */
  name?: string
  /** Default: env DATA_DIR, else `./data`. */
  dataDir?: string
  pool?: {
    /** Default: env DATABASE_POOL_MAX, else 10. */
    max?: number
    /** Default: env DATABASE_POOL_MIN, else 0. */
    min?: number
    /** Default 30 000 ms. */
    idleTimeout?: number
  }
  /** Time for connecting at start, retries included. Default 10 000 ms. */
  connectTimeout?: number
  /** Deadline of one connection attempt. Default 3 000 ms. */
  attemptTimeout?: number
  /** Backoff between attempts. Default 100 ms doubling up to 2 000 ms, with full jitter. */
  retry?: RetryOptions
  /** Start without the database when it is unreachable. Default: env SKIP_DB_INIT (1, true, yes). */
  optional?: boolean
  /** Apply pending migrations when connecting. Default: env DATABASE_MIGRATE, else true in development only. */
  migrate?: boolean
  /** How long to wait for another instance's migrations. Default 120 000 ms. */
  migrationLockTimeout?: number
  /** Deadline of the health check (connecting, then one round trip). Default 1 500 ms. */
  healthTimeout?: number
  /**
   * Deadline of one query on PostgreSQL (statement_timeout, and a client-side deadline just
   * after it for a server that stopped answering), so that a request fails with
   * PLINTH_ERR_DB_UNAVAILABLE (503) within its budget instead of hanging. It also bounds the wait
   * for a connection when none is free, so queries queued behind hung ones fail in time. Applies to
   * migrations too: raise it for long ones. 0 for none. Default: env DATABASE_QUERY_TIMEOUT, else 10 000 ms.
   */
  queryTimeout?: number
}

/** What option functions receive: the app's loaded configuration and environment. */
export interface OptionsContext {
  /** The app's validated configuration value, when it has one. */
  readonly config: unknown
  readonly appEnv: string
  readonly env: NodeJS.ProcessEnv
  readonly appName: string
  readonly cwd: string
}

export type DatabaseOptionsInput = DatabaseOptions | ((context: OptionsContext) => DatabaseOptions)

function flag(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (/^(1|true|yes|on)$/i.test(value)) return true
  if (/^(0|false|no|off)$/i.test(value)) return false
  throw new PlinthError('PLINTH_ERR_INVALID_OPTION', `${name}=${JSON.stringify(value)} is not a yes/no value; use true or false`)
}

function count(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new PlinthError('PLINTH_ERR_INVALID_OPTION', `${name}=${JSON.stringify(value)} is not a whole number`)
  return n
}

/**
 * The settings a database component runs with.
 *
 * @example
 * resolveDatabaseSettings({ pool: { max: 20 } }, { config: undefined, appEnv: 'production', env: process.env, appName: 'orders', cwd: process.cwd() }, 'database')
 */
export function resolveDatabaseSettings(input: DatabaseOptionsInput, context: OptionsContext, componentName: string): DatabaseSettings {
  const options = typeof input === 'function' ? input(context) : input
  const { env } = context
  const dataDir = resolve(context.cwd, options.dataDir ?? (env.DATA_DIR || './data'))
  const base = options.url ?? (env.DATABASE_URL || undefined)
  const url = options.name !== undefined ? siblingDatabaseUrl(base, options.name, dataDir) : (base ?? `sqlite:${resolve(dataDir, 'app.sqlite')}`)
  const location = parseDatabaseUrl(url, context.cwd)

  const problems: string[] = []
  const positive = (value: number | undefined, name: string, fallback: number, min = 1) => {
    if (value === undefined) return fallback
    if (!Number.isFinite(value) || value < min) problems.push(`${name} must be a number of at least ${min}; got ${String(value)}`)
    return value
  }
  const max = positive(options.pool?.max ?? count(env.DATABASE_POOL_MAX, 'DATABASE_POOL_MAX'), 'pool.max', 10)
  const min = positive(options.pool?.min ?? count(env.DATABASE_POOL_MIN, 'DATABASE_POOL_MIN'), 'pool.min', 0, 0)
  if (min > max) problems.push(`pool.min (${min}) must not exceed pool.max (${max})`)
  const connectTimeout = positive(options.connectTimeout, 'connectTimeout', 10_000)
  const settings: DatabaseSettings = {
    name: componentName,
    location,
    pool: { max, min, idleTimeout: positive(options.pool?.idleTimeout, 'pool.idleTimeout', 30_000) },
    connectTimeout,
    attemptTimeout: Math.min(positive(options.attemptTimeout, 'attemptTimeout', 3_000), connectTimeout),
    retry: options.retry ?? {},
    migrate: options.migrate ?? flag(env.DATABASE_MIGRATE, 'DATABASE_MIGRATE') ?? context.appEnv === 'development',
    optional: options.optional ?? flag(env.SKIP_DB_INIT, 'SKIP_DB_INIT') ?? false,
    migrationLockTimeout: positive(options.migrationLockTimeout, 'migrationLockTimeout', 120_000),
    // Below the health check's own 2 s deadline, so that the database answers the check itself.
    healthTimeout: positive(options.healthTimeout, 'healthTimeout', 1_500),
    queryTimeout: positive(options.queryTimeout ?? count(env.DATABASE_QUERY_TIMEOUT, 'DATABASE_QUERY_TIMEOUT'), 'queryTimeout', 10_000, 0),
    applicationName: context.appName.slice(0, 63),
  }
  if (problems.length > 0) {
    throw new PlinthError('PLINTH_ERR_INVALID_OPTION', `the options of database component "${componentName}" are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
  return settings
}
