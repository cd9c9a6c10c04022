/**
 * A thin layer over Kysely's own driver: it counts connections in use and callers waiting for
 * one (the pool figures of metrics and health), and holds the first queries until the database
 * is ready (connected, migrations applied). Two Kysely instances share one engine through it:
 * the application's, which waits for readiness, and the database component's own, which
 * connects and migrates and so must not wait for itself.
 *
 * The hot path (a ready database) adds a readiness check, two counter updates and one promise
 * reaction per connection: bench/src/db/query-overhead.ts measures what that costs per query.
 */
import type { CompiledQuery, DatabaseConnection, Dialect as KyselyDialect, Driver, Kysely, QueryResult, TransactionSettings } from 'kysely'
import { isTransient } from './connect-errors.js'
import type { Engine } from './engine.js'

/** Pool figures: for metrics (`db_pool_*`) and health details. */
export interface PoolStats {
  /** Connections open now. */
  readonly size: number
  /** Most connections the pool opens. */
  readonly max: number
  /** Connections handed to a query or transaction now. */
  readonly inUse: number
  /** Callers waiting for a connection now (the pool is exhausted, or the database not ready yet). */
  readonly waiting: number
}

/** What holds queries until the database is ready. */
export interface ReadinessGate {
  /** True once connected and migrated; asked on every connection, so it must be cheap. */
  isReady(): boolean
  /** Resolves when ready, or rejects with why the database cannot be used now. */
  whenReady(): Promise<void>
  /** The error a query sees when the engine could not hand it a connection. */
  unavailable(error: unknown): unknown
}

/** The engine's driver, initialised once and destroyed once whichever Kysely asks. */
export class SharedDriver {
  readonly #engine: Engine
  readonly #inner: Driver
  readonly #max: number
  readonly #acquireTimeout: number
  #init: Promise<void> | undefined
  #initialised = false
  #destroy: Promise<void> | undefined
  inUse = 0
  waiting = 0
  gateWaiting = 0

  /** `acquireTimeout`: how long a query waits for a connection over a network (the query deadline; 0: no limit). */
  constructor(engine: Engine, max: number, acquireTimeout = 0) {
    this.#engine = engine
    this.#inner = engine.dialect.createDriver()
    this.#max = max
    this.#acquireTimeout = engine.guardsConnections ? acquireTimeout : 0
  }

  /**
   * A connection from the engine's pool, waiting at most the query deadline when none is idle:
   * behind queries a hung server never answers, or for a connection it never accepts, a request
   * gets the database's unavailable error within its budget instead of queueing deadline after
   * deadline. A connection handed over after the wait gave up goes straight back to the pool.
   * With an idle connection for every caller waiting (the usual case) no timer is armed.
   */
  acquire(): Promise<DatabaseConnection> {
    // Read before asking: an idle connection for every caller waiting (this one included) means no wait.
    const free = this.#engine.idleConnections() >= this.waiting
    const pending = this.#inner.acquireConnection()
    const limit = this.#acquireTimeout
    if (limit <= 0 || free) return pending
    return new Promise((resolve, reject) => {
      let late = false
      const timer = setTimeout(() => {
        late = true
        reject(new Error(`the database did not answer within ${limit} ms: no connection became free`))
      }, limit)
      pending.then(
        (connection) => {
          clearTimeout(timer)
          if (late) void this.#inner.releaseConnection(connection).catch(() => undefined)
          else resolve(connection)
        },
        (error: Error) => {
          clearTimeout(timer)
          reject(error)
        },
      )
    })
  }

  get inner(): Driver {
    return this.#inner
  }

  get guardsConnections(): boolean {
    return this.#engine.guardsConnections
  }

  init(): Promise<void> {
    // A failed init (a file that cannot be opened yet) is forgotten, so that the next query tries again.
    this.#init ??= this.#inner.init().then(
      () => {
        this.#initialised = true
      },
      (error: unknown) => {
        this.#init = undefined
        throw error
      },
    )
    return this.#init
  }

  destroy(): Promise<void> {
    this.#destroy ??= (async () => {
      await this.#init?.catch(() => undefined)
      if (!this.#initialised) return
      this.#initialised = false
      await this.#inner.destroy()
    })()
    return this.#destroy
  }

  stats(): PoolStats {
    return { size: this.#engine.openConnections(this.#initialised), max: this.#max, inUse: this.inUse, waiting: this.waiting + this.gateWaiting }
  }

  /** A Kysely dialect whose drivers go through this one; `gate` holds their first queries. */
  dialect(gate: ReadinessGate | undefined): KyselyDialect {
    const base = this.#engine.dialect
    return {
      createDriver: () => new CountingDriver(this, gate),
      createQueryCompiler: () => base.createQueryCompiler(),
      createAdapter: () => base.createAdapter(),
      createIntrospector: (db: Kysely<any>) => base.createIntrospector(db),
    }
  }
}

/** A connection whose lost-connection errors become the gate's clear error; SQL errors pass unchanged. */
class GuardedConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection
  readonly #gate: ReadinessGate

  constructor(inner: DatabaseConnection, gate: ReadinessGate) {
    this.inner = inner
    this.#gate = gate
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.inner.executeQuery<R>(query).catch((error: unknown) => {
      throw isTransient(error) ? this.#gate.unavailable(error) : error
    })
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize)
  }
}

class CountingDriver implements Driver {
  readonly #shared: SharedDriver
  readonly #inner: Driver
  readonly #gate: ReadinessGate | undefined
  readonly #guarded = new WeakMap<DatabaseConnection, GuardedConnection>()

  constructor(shared: SharedDriver, gate: ReadinessGate | undefined) {
    this.#shared = shared
    this.#inner = shared.inner
    this.#gate = gate
  }

  init(): Promise<void> {
    const gate = this.#gate
    if (gate === undefined) return this.#shared.init()
    // Kysely initialises the driver before asking it for a connection: readiness is awaited here
    // first, so that opening fails with the same clear error as connecting.
    if (!gate.isReady()) return gate.whenReady().then(() => this.#shared.init())
    return this.#shared.init().catch((error: unknown) => {
      throw gate.unavailable(error)
    })
  }

  acquireConnection(): Promise<DatabaseConnection> {
    const gate = this.#gate
    if (gate === undefined || gate.isReady()) return this.#acquire()
    const shared = this.#shared
    shared.gateWaiting++
    return gate.whenReady().then(
      () => {
        shared.gateWaiting--
        return this.#acquire()
      },
      (error: unknown) => {
        shared.gateWaiting--
        throw error
      },
    )
  }

  #acquire(): Promise<DatabaseConnection> {
    this.#shared.waiting++
    return this.#shared.acquire().then(this.#acquired, this.#notAcquired)
  }

  // Made once, not per query: the hot path allocates no closures.
  readonly #acquired = (connection: DatabaseConnection): DatabaseConnection => {
    const shared = this.#shared
    shared.waiting--
    shared.inUse++
    if (!this.#gate || !shared.guardsConnections) return connection
    let guarded = this.#guarded.get(connection)
    if (!guarded) this.#guarded.set(connection, (guarded = new GuardedConnection(connection, this.#gate)))
    return guarded
  }

  readonly #notAcquired = (error: unknown): never => {
    this.#shared.waiting--
    throw this.#gate ? this.#gate.unavailable(error) : error
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.#shared.inUse--
    return this.#inner.releaseConnection(unwrap(connection))
  }

  // A connection lost at BEGIN, COMMIT or ROLLBACK is as unavailable as one lost mid-query.
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#guard(connection, this.#inner.beginTransaction(unwrap(connection), settings))
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#guard(connection, this.#inner.commitTransaction(unwrap(connection)))
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#guard(connection, this.#inner.rollbackTransaction(unwrap(connection)))
  }

  #guard(connection: DatabaseConnection, work: Promise<void>): Promise<void> {
    const gate = this.#gate
    if (gate === undefined || !(connection instanceof GuardedConnection)) return work
    return work.catch((error: unknown) => {
      throw isTransient(error) ? gate.unavailable(error) : error
    })
  }

  savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    return this.#inner.savepoint!(unwrap(connection), name, compile)
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]): Promise<void> {
    return this.#inner.rollbackToSavepoint!(unwrap(connection), name, compile)
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]): Promise<void> {
    return this.#inner.releaseSavepoint!(unwrap(connection), name, compile)
  }

  destroy(): Promise<void> {
    return this.#shared.destroy()
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof GuardedConnection ? connection.inner : connection
}
