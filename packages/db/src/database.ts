/**
 * The database a component hands to the rest of the app: a Kysely instance that connects on
 * first use, a readiness state (connected and migrated, or why not), pool figures, a bounded
 * round trip for health checks, and the migrator.
 *
 * Connecting never poisons the instance: a failed attempt is forgotten and the next query, the
 * next health check or the background loop (for an optional database) tries again, so a
 * database that comes back is used without a restart.
 */
import { backoffDelay, PlinthError, sleep, type HealthResult, type Logger, type RetryOptions } from '@plinth/core'
import type { Database, DatabaseState } from './contract.js'
import { Kysely, sql } from 'kysely'
import { connectError, isTransient, safeCause, safeMessage } from './connect-errors.js'
import { SharedDriver, type PoolStats } from './driver.js'
import { createEngine, type PoolSettings } from './engine.js'
import { Migrator } from './migrator.js'
import type { PlannedMigration } from './migrations.js'
import { redactUrl, type DatabaseLocation, type Dialect } from './url.js'
import { dbErrors } from './errors.js'

/** `idle`: not used yet. `unavailable`: the last attempt failed; the next use tries again. `failed`: a migration failed; only a restart helps. */

export interface DatabaseSettings {
  /** The component's name, for messages: 'database'. */
  readonly name: string
  readonly location: DatabaseLocation
  readonly pool: PoolSettings
  /** Time for connecting at start, retries included, in milliseconds. */
  readonly connectTimeout: number
  /** Deadline of one connection attempt, in milliseconds. */
  readonly attemptTimeout: number
  /** Backoff between connection attempts. */
  readonly retry: RetryOptions
  /** Apply pending migrations when connecting. */
  readonly migrate: boolean
  /** Start without the database when it is unreachable (SKIP_DB_INIT): readiness degraded, reconnection in the background. */
  readonly optional: boolean
  readonly migrationLockTimeout: number
  /** Deadline of the health check's round trip, in milliseconds. */
  readonly healthTimeout: number
  /** Deadline of one query (PostgreSQL), in ms; 0 for none. */
  readonly queryTimeout: number
  readonly applicationName: string
}

const now = () => performance.now()

/** What inspectServer() reads of the database server, with the component's own settings. */
export interface ServerFacts {
  readonly version: string
  /** Milliseconds of the round trip (connecting included on the first call). */
  readonly roundTrip: number
  /** The server's clock (PostgreSQL); SQLite shares the process's. */
  readonly serverTime: Date | undefined
  /** The server's max_connections (PostgreSQL). */
  readonly maxConnections: number | undefined
  readonly pool: PoolSettings
  /** Whether start-up applies pending migrations. */
  readonly migrate: boolean
}

/** The `Database` the database component provides. */
export class LazyDatabase implements Database {
  readonly name: string
  readonly dialect: Dialect
  /** The URL with its password replaced by `***`. */
  readonly url: string
  /** Kysely for the application: its first query waits until the database is connected and migrated. */
  readonly kysely: Kysely<any>
  readonly migrator: Migrator
  readonly #admin: Kysely<any>
  readonly #driver: SharedDriver
  readonly #settings: DatabaseSettings
  readonly #log: Logger
  readonly #secrets: readonly string[]
  #state: DatabaseState = 'idle'
  #lastError: PlinthError | undefined
  #attempt: Promise<void> | undefined
  #background: AbortController | undefined
  #ready = false

  constructor(settings: DatabaseSettings, plan: readonly PlannedMigration[], log: Logger) {
    const { location } = settings
    this.name = settings.name
    this.dialect = location.dialect
    this.url = redactUrl(location.url)
    this.#settings = settings
    this.#log = log
    this.#secrets = location.dialect === 'postgres' ? location.secrets : []
    const engine = createEngine(location, { pool: settings.pool, attemptTimeout: settings.attemptTimeout, applicationName: settings.applicationName, queryTimeout: settings.queryTimeout }, log)
    this.#driver = new SharedDriver(engine, location.dialect === 'sqlite' ? 1 : settings.pool.max, settings.queryTimeout)
    this.kysely = new Kysely({
      dialect: this.#driver.dialect({
        isReady: () => this.#ready,
        whenReady: () => this.#whenReady(),
        unavailable: (error) => this.#unavailable(error),
      }),
    })
    this.#admin = new Kysely({ dialect: this.#driver.dialect(undefined) })
    this.migrator = new Migrator(this.#admin, plan, {
      dialect: location.dialect,
      ...(location.dialect === 'sqlite' ? { file: location.file } : {}),
      url: this.url,
      secrets: this.#secrets,
      lockTimeout: settings.migrationLockTimeout,
      log,
    })
  }

  get optional(): boolean {
    return this.#settings.optional
  }

  get migratesAtStart(): boolean {
    return this.#settings.migrate
  }

  /** The same Kysely instance, typed with the tables of `DB`. */
  typed<DB>(): Kysely<DB> {
    return this.kysely as Kysely<DB>
  }

  get state(): DatabaseState {
    return this.#state
  }

  /** Why the database is not ready, when it is not. */
  get lastError(): PlinthError | undefined {
    return this.#lastError
  }

  /** Connections open, in use and waited for: for metrics and health details. */
  poolStats(): PoolStats {
    return this.#driver.stats()
  }

  whenReady(): Promise<void> {
    return this.#ready ? Promise.resolve() : this.#whenReady()
  }

  /**
   * Connects and migrates at start. A required database retries within `connectTimeout` and
   * fails start-up past it; an optional one makes one attempt (within `attemptTimeout`) and, when
   * it fails, starts without it (telling `degraded` why, so that the ready line names it) and
   * connects in the background.
   */
  async start(signal?: AbortSignal, degraded?: (reason: PlinthError) => void): Promise<void> {
    if (!this.#settings.optional) return this.connect(signal)
    try {
      await this.#attemptOnce()
      return
    } catch (error) {
      // Without automatic migrations, a reachable database whose schema is behind fails the start
      // naming the pending migrations, instead of whatever first reads a table.
      if (dbErrors.is(error, 'PLINTH_ERR_MIGRATIONS_PENDING')) throw error
      const reason = this.#unavailable(error)
      degraded?.(reason instanceof PlinthError ? reason : this.#lastError ?? dbErrors.create('PLINTH_ERR_DB_UNAVAILABLE', `database ${this.url} is unavailable`))
    }
    this.connectInBackground(30_000, Boolean(degraded))
  }

  /**
   * Connects (and migrates, when configured), retrying transient failures with exponential
   * backoff and jitter until `connectTimeout`. Wrong credentials, a missing database or a failed
   * migration fail at once.
   */
  async connect(signal?: AbortSignal): Promise<void> {
    const began = now()
    const policy = { attempts: Number.POSITIVE_INFINITY, initialDelay: 100, maxDelay: 2_000, factor: 2, jitter: true, ...this.#settings.retry }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#attemptOnce()
        return
      } catch (error) {
        const elapsed = now() - began
        const remaining = this.#settings.connectTimeout - elapsed
        const retryable = !(error instanceof PlinthError) && isTransient(error) && attempt < policy.attempts
        if (!retryable || remaining <= 0 || signal?.aborted) throw this.#remember(connectError(error, this.#settings.location.url, this.#secrets, { attempts: attempt, elapsed }))
        // The last wait is cut short so that one more attempt is made at the deadline, not before it.
        const delay = Math.min(backoffDelay(policy, attempt), remaining)
        this.#log.warn({ attempt, retryIn: delay, url: this.url, reason: safeMessage(error, this.#secrets) }, `database not reachable yet; retrying in ${Math.round(delay)} ms`)
        await sleep(delay, signal)
      }
    }
  }

  /**
   * Keeps trying to connect in the background, backing off up to `maxDelay`, until connected or
   * closed: how an optional database reconnects by itself. Queries meanwhile try on their own.
   */
  connectInBackground(maxDelay = 30_000, announced = false): void {
    if (this.#background || this.#ready) return
    const controller = (this.#background = new AbortController())
    const policy = { attempts: Number.POSITIVE_INFINITY, initialDelay: 250, factor: 2, jitter: true, ...this.#settings.retry, maxDelay }
    const began = now()
    // The outage is told once (here, or by the start's `degraded`), then reminded at most once a minute.
    let warned = announced ? began : undefined
    const loop = async () => {
      for (let attempt = 1; !controller.signal.aborted && !this.#ready; attempt++) {
        try {
          await this.#attemptOnce()
          this.#log.info({ url: this.url, attempts: attempt, unavailableFor: Math.round(now() - began) }, `database connected after ${attempt} attempt${attempt === 1 ? '' : 's'} in the background`)
          return
        } catch (error) {
          if (this.#state === 'failed' || controller.signal.aborted) return
          const delay = Math.round(backoffDelay(policy, attempt))
          const fields = { attempt, retryIn: delay, reason: safeMessage(error, this.#secrets) }
          if (warned === undefined) this.#log.warn(fields, `database ${this.url} unavailable (${fields.reason}); the service runs without it and retries in the background`)
          else if (now() - warned >= 60_000) this.#log.warn(fields, `database ${this.url} still unavailable after ${Math.round((now() - began) / 1_000)} s and ${attempt} attempts (${fields.reason}); retrying every ${Math.round(policy.maxDelay / 1_000)} s at most`)
          else this.#log.debug(fields, `database ${this.url} unavailable; retrying in ${delay} ms`)
          if (warned === undefined || now() - warned >= 60_000) warned = now()
          await sleep(delay, controller.signal).catch(() => undefined)
        }
      }
    }
    void loop().finally(() => {
      if (this.#background === controller) this.#background = undefined
    })
  }

  /** One round trip (`select 1`) under `timeout`; resolves to its latency in milliseconds. */
  async ping(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<number> {
    const timeout = options.timeout ?? this.#settings.healthTimeout
    const began = now()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dbErrors.create('PLINTH_ERR_DB_UNAVAILABLE', `database ${this.url} did not answer within ${timeout} ms`)), timeout)
      options.signal?.addEventListener('abort', () => reject(options.signal?.reason as Error), { once: true })
    })
    try {
      await Promise.race([sql`select 1`.execute(this.#admin), deadline])
      return now() - began
    } catch (error) {
      throw this.#unavailable(error)
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * The component's health check: connects if needed, then one bounded round trip, with its
   * latency and the pool figures in the details. Unreachable is down, or degraded (with the
   * reason in the details) for an optional database, which readiness tolerates.
   */
  async health(signal?: AbortSignal): Promise<HealthResult> {
    const details = { dialect: this.dialect, url: this.url }
    const timeout = this.#settings.healthTimeout
    let timer: NodeJS.Timeout | undefined
    // One deadline for connecting and the round trip, so that a database that accepts
    // connections and never answers fails this check as fast as one that refuses them.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dbErrors.create('PLINTH_ERR_DB_UNAVAILABLE', `database ${this.url} did not answer within ${timeout} ms`)), timeout)
    })
    try {
      if (this.#state === 'failed' || this.#state === 'closed') throw this.#lastError ?? dbErrors.create('PLINTH_ERR_DB_UNAVAILABLE', `database ${this.url} is closed`)
      if (!this.#ready) await Promise.race([this.#whenReady(), deadline])
      const latency = await Promise.race([this.ping(signal ? { signal } : {}), deadline])
      return { status: 'up', details: { ...details, latencyMs: Math.round(latency * 100) / 100, pool: this.poolStats() } }
    } catch (error) {
      if (!this.#settings.optional || this.#state === 'closed') throw error
      const reason = error instanceof PlinthError ? `${error.code}: ${error.message}` : safeMessage(error, this.#secrets)
      // Degraded, with the error: readiness tolerates it, and the run still counts as a failure.
      return { status: 'degraded', error: reason, details: { ...details, reason: `running without its database: ${reason}`, state: this.#state, pool: this.poolStats() } }
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * One round trip on the administrative connection, without migrating: the server's version,
   * clock and connection limit, for the preflight. Connection failures come back as the same
   * errors start-up reports (wrong password, unknown host, ...), secrets scrubbed.
   */
  async inspectServer(): Promise<ServerFacts> {
    const began = now()
    try {
      if (this.dialect === 'sqlite') {
        const { rows } = await sql<{ version: string }>`select sqlite_version() as version`.execute(this.#admin)
        return { version: `SQLite ${rows[0]?.version ?? '?'}`, roundTrip: now() - began, serverTime: undefined, maxConnections: undefined, pool: this.#settings.pool, migrate: this.#settings.migrate }
      }
      const { rows } = await sql<{ now: Date; max: string; version: string }>`select now() as now, current_setting('max_connections') as max, current_setting('server_version') as version`.execute(this.#admin)
      const row = rows[0]!
      return { version: `PostgreSQL ${row.version}`, roundTrip: now() - began, serverTime: new Date(row.now), maxConnections: Number(row.max), pool: this.#settings.pool, migrate: this.#settings.migrate }
    } catch (error) {
      throw error instanceof PlinthError ? error : connectError(error, this.#settings.location.url, this.#secrets)
    }
  }

  /** Stops reconnecting, waits for an attempt in flight, and closes every connection. */
  async close(): Promise<void> {
    this.#background?.abort()
    this.#state = 'closed'
    this.#ready = false
    await this.#attempt?.catch(() => undefined)
    await Promise.all([this.kysely.destroy(), this.#admin.destroy()])
  }

  #whenReady(): Promise<void> {
    if (this.#state === 'failed' || this.#state === 'closed') {
      return Promise.reject(this.#lastError ?? dbErrors.create('PLINTH_ERR_DB_UNAVAILABLE', `database ${this.url} is closed`))
    }
    return this.#attemptOnce().catch((error: unknown) => {
      throw this.#unavailable(error)
    })
  }

  /** One attempt to connect and migrate; concurrent callers share it, and a failure is not kept. */
  #attemptOnce(): Promise<void> {
    if (this.#ready) return Promise.resolve()
    this.#attempt ??= (async () => {
      this.#state = 'connecting'
      try {
        await this.#probe()
        if (this.#settings.migrate) await this.migrator.up()
        else await this.#noPendingMigrations()
        if ((this.#state as DatabaseState) === 'closed') return
        this.#state = 'ready'
        this.#lastError = undefined
        this.#ready = true
      } catch (error) {
        if ((this.#state as DatabaseState) !== 'closed') this.#state = dbErrors.is(error, 'PLINTH_ERR_MIGRATION_FAILED') || dbErrors.is(error, 'PLINTH_ERR_MIGRATIONS_PENDING') ? 'failed' : 'unavailable'
        this.#remember(error instanceof PlinthError ? error : connectError(error, this.#settings.location.url, this.#secrets))
        throw error
      }
    })().finally(() => {
      this.#attempt = undefined
    })
    return this.#attempt
  }

  /** With automatic migration off: fails, naming them, the database and the fix, when declared migrations are not applied. */
  async #noPendingMigrations(): Promise<void> {
    if (this.migrator.plan.length === 0) return
    const pending = (await this.migrator.status()).filter((m) => m.state === 'pending').map((m) => `${m.module}/${m.name}`)
    if (pending.length === 0) return
    throw dbErrors.create(
      'PLINTH_ERR_MIGRATIONS_PENDING',
      `${pending.length} migration${pending.length === 1 ? '' : 's'} pending on database ${this.url}, not applied because automatic migration is off (DATABASE_MIGRATE=false): ${pending.join(', ')}. ` +
        'Run `plinth migrate up`, or unset DATABASE_MIGRATE so that the service applies them at start',
      { details: { url: this.url, pending } },
    )
  }

  async #probe(): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`connection attempt timed out after ${this.#settings.attemptTimeout} ms`), { code: 'ETIMEDOUT' })), this.#settings.attemptTimeout)
    })
    try {
      await Promise.race([sql`select 1`.execute(this.#admin), deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  #remember(error: PlinthError): PlinthError {
    this.#lastError = error
    return error
  }

  /** The error a query or check sees while the database cannot be reached. */
  #unavailable(error: unknown): unknown {
    if (error instanceof PlinthError) return error
    if (!isTransient(error) && (error as { code?: unknown })?.code === undefined) return error
    const known = connectError(error, this.#settings.location.url, this.#secrets)
    if (known.code !== 'PLINTH_ERR_DB_CONNECT_FAILED') return known
    return dbErrors.create('PLINTH_ERR_DB_UNAVAILABLE', `database ${this.url} is unavailable: ${safeMessage(error, this.#secrets)}`, {
      cause: safeCause(error, this.#secrets),
      details: { url: this.url, state: this.#state },
    })
  }
}
