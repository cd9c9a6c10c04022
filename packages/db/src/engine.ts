/**
 * The engines under Kysely: better-sqlite3 for a file, a pg pool for PostgreSQL. Both are built
 * lazily: the driver libraries are imported, the file opened and the pool created only when the
 * first query asks for a connection, never at import or construction.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { PostgresDialect, SqliteDialect, type Dialect as KyselyDialect } from 'kysely'
import type { ClientConfig, Pool } from 'pg'
import { describeError, type Logger } from '@plinth/core'
import { safeCause } from './connect-errors.js'
import type { DatabaseLocation } from './url.js'

export interface PoolSettings {
  /** Most connections open at once (PostgreSQL). Default 10. SQLite always has one. */
  readonly max: number
  /** Connections kept open when idle (PostgreSQL). Default 0. */
  readonly min: number
  /** An idle connection above `min` is closed after this many milliseconds. Default 30 000. */
  readonly idleTimeout: number
}

export interface EngineSettings {
  readonly pool: PoolSettings
  /** Deadline of one connection attempt, in milliseconds. */
  readonly attemptTimeout: number
  /** `application_name` on PostgreSQL, so that pg_stat_activity names the service. */
  readonly applicationName: string
  /**
   * Deadline of one query, in milliseconds (0: none). PostgreSQL enforces it as
   * `statement_timeout`; the client gives up a little later (a database that stopped answering
   * cannot cancel anything) and closes the connection, so it is not reused.
   */
  readonly queryTimeout: number
}

/** How much later than the server's statement_timeout the client gives up on a query. */
const clientDeadlineMargin = 500

/** A Kysely dialect and a way to read the engine's connection count. */
export interface Engine {
  readonly dialect: KyselyDialect
  /**
   * Whether queries should turn a lost connection into PLINTH_ERR_DB_UNAVAILABLE. Worth it over a
   * network (a round trip costs far more than the wrapper); not for SQLite, which has no
   * connection to lose and whose queries take microseconds.
   */
  readonly guardsConnections: boolean
  /** Connections open now: pg's pool size, 1 for an open SQLite file, 0 before first use. */
  openConnections(initialised: boolean): number
  /** Open connections no one is using now (pg's idle clients): a checkout that needs no wait. */
  idleConnections(): number
}

/**
 * The engine for a location. `log` hears about connections that fail while idle, which pg
 * would otherwise raise as an unhandled 'error' event and crash the process with.
 *
 * @example
 * const engine = createEngine(parseDatabaseUrl('sqlite:data/app.sqlite'), { pool, attemptTimeout: 3_000, applicationName: 'svc', queryTimeout: 10_000 }, log)
 * const db = new Kysely({ dialect: engine.dialect })
 */
export function createEngine(location: DatabaseLocation, settings: EngineSettings, log: Logger): Engine {
  if (location.dialect === 'sqlite') {
    const dialect = new SqliteDialect({
      database: async () => {
        const { default: BetterSqlite3 } = await import('better-sqlite3')
        if (location.file !== ':memory:') mkdirSync(dirname(location.file), { recursive: true })
        const db = new BetterSqlite3(location.file, { timeout: 5_000 })
        try {
          // WAL lets readers in other processes go on while one writes; NORMAL sync is safe with WAL.
          if (location.file !== ':memory:') db.pragma('journal_mode = WAL')
          db.pragma('synchronous = NORMAL')
          db.pragma('foreign_keys = ON')
        } catch (error) {
          db.close()
          throw error
        }
        return db
      },
    })
    // One connection, open from the first query until the driver is destroyed.
    return { dialect, guardsConnections: false, openConnections: (initialised) => (initialised ? 1 : 0), idleConnections: () => 0 }
  }

  let pool: Pool | undefined
  const dialect = new PostgresDialect({
    pool: async () => {
      const { default: pg } = await import('pg')
      // The attempt deadline goes to the client's connect only. As a pool option it would also arm
      // (and clear) a timer on every checkout, idle client or not: a cost on every query.
      const attemptTimeout = settings.attemptTimeout
      const queryTimeout = settings.queryTimeout
      const statementTimeout = queryTimeout > 0 ? { statement_timeout: queryTimeout } : {}
      class Client extends pg.Client {
        constructor(config?: string | ClientConfig) {
          super({ ...(typeof config === 'string' ? { connectionString: config } : config), connectionTimeoutMillis: attemptTimeout, ...statementTimeout })
        }

        // The client-side deadline: a black-holed server never answers, not even to cancel, so
        // the socket is destroyed; the query fails as a lost connection (PLINTH_ERR_DB_UNAVAILABLE)
        // and the pool drops the client when it is released.
        override query(...args: unknown[]): never {
          const result = (super.query as (...a: unknown[]) => unknown)(...args)
          if (queryTimeout <= 0 || !(result instanceof Promise)) return result as never
          const timer = setTimeout(() => {
            const stream = (this as unknown as { connection?: { stream?: { destroy(error?: Error): void } } }).connection?.stream
            stream?.destroy(new Error(`the database did not answer within ${queryTimeout + clientDeadlineMargin} ms`))
          }, queryTimeout + clientDeadlineMargin)
          return result.finally(() => clearTimeout(timer)) as never
        }
      }
      pool = new pg.Pool({
        Client,
        connectionString: location.url,
        max: settings.pool.max,
        min: settings.pool.min,
        idleTimeoutMillis: settings.pool.idleTimeout,
        application_name: settings.applicationName,
      })
      pool.on('error', (error) => {
        const reason = describeError(safeCause(error, location.secrets))
        log.warn({ reason }, `an idle database connection failed (${reason}); the pool will open a new one when needed`)
      })
      // pg emits 'error' on a client that loses its server while checked out, and neither pg-pool
      // nor Kysely listens then: without this listener a database restart crashes the process.
      // The query in flight still rejects, with the same error, so nothing is hidden.
      pool.on('connect', (client) => client.on('error', (error) => log.debug({ err: safeCause(error, location.secrets) }, 'a database connection in use was lost')))
      return pool
    },
  })
  return { dialect, guardsConnections: true, openConnections: (initialised) => (initialised ? (pool?.totalCount ?? 0) : 0), idleConnections: () => pool?.idleCount ?? 0 }
}
