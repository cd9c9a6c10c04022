/**
 * The event store on the app's database (SQLite or PostgreSQL through Kysely): the durable
 * default.
 *
 * Global positions and concurrent appends on PostgreSQL: a sequence hands out positions when a
 * row is inserted, but rows become visible when their transaction commits, so with two appends
 * in flight a reader could see position 12 before 11 commits, move its checkpoint past 11 and
 * never read it. Each append therefore takes one transaction-scoped advisory lock before it
 * draws a position, so positions are drawn in the order appends commit (PostgreSQL makes a
 * commit visible before it releases the transaction's locks). A rolled-back append leaves a
 * hole, which readers pass over safely: nothing will ever fill it. The price is that appends to
 * one store are serialised; bench/ measures what that costs. (Emmett instead records the
 * transaction id and filters readers by the snapshot's xmin, which needs a two-part checkpoint.)
 * SQLite has one writer at a time, so it needs nothing more.
 */
import type { Kysely } from 'kysely'
import { appendStatement } from './append-statement.js'
import { AppendListeners } from './append-listeners.js'
import type { Appended, AppendListener, AppendOptions, AppendOrigin, AppendResult, EventStore, ExpectedVersion, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent } from './contract.js'
import { cqrsErrors } from './errors.js'
import { eventTables as t } from './schema.js'
import { checkExpected, checkName, checkStream, checkWhole, prepareAppend, type PreparedEvent } from './validate.js'

export interface SqlEventStoreOptions {
  readonly dialect: 'sqlite' | 'postgres'
}

interface EventRow {
  position: number | string
  event_id: string
  stream: string
  version: number | string
  type: string
  data: string
  metadata: string
  recorded_at: string
}

function toRecorded<Data>(row: EventRow): RecordedEvent<Data> {
  return {
    id: row.event_id,
    stream: row.stream,
    type: row.type,
    data: JSON.parse(row.data) as Data,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    version: Number(row.version),
    position: Number(row.position),
    time: new Date(row.recorded_at),
  }
}

/** Maps a driver error to the store's own: a duplicate id, a lost race, or an unreachable server. */
function translate(error: unknown, stream: string, expected: unknown): unknown {
  if (cqrsErrors.is(error)) return error
  const { code, constraint, message = '' } = error as { code?: string; constraint?: string; message?: string }
  const unique = code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  if (unique && (constraint?.includes('event_id') || message.includes('event_id'))) {
    return cqrsErrors.create('PLINTH_ERR_EVENTS_DUPLICATE_ID', `an event of the append to "${stream}" has an id that is already in the store`, { cause: error })
  }
  if (unique) {
    return cqrsErrors.create('PLINTH_ERR_EVENTS_CONFLICT', `stream "${stream}" was appended to by another writer at the same time (expected ${JSON.stringify(expected)})`, {
      cause: error,
      details: { stream, expected },
    })
  }
  if (typeof code === 'string' && /^(ECONN|ETIMEDOUT|EPIPE|57P|08)/.test(code)) {
    return cqrsErrors.create('PLINTH_ERR_EVENTS_UNAVAILABLE', `the database behind the event store failed: ${message}`, { cause: error })
  }
  return error
}

/**
 * An event store in the tables of `eventStoreMigrations`, on a Kysely instance of the app's
 * database.
 *
 * @example
 * const store = new SqlEventStore(db.kysely, { dialect: db.dialect })
 * await store.append('device-7', [{ type: 'device.registered', data: { kind: 'thermometer' } }], { expectedVersion: 'no-stream' })
 * const events = await store.readStream('device-7')
 */
export class SqlEventStore implements EventStore {
  readonly #db: Kysely<any>
  readonly #postgres: boolean
  readonly #listeners = new AppendListeners()

  constructor(db: Kysely<any>, options: SqlEventStoreOptions) {
    this.#db = db
    this.#postgres = options.dialect === 'postgres'
  }

  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const prepared = prepareAppend(stream, events, options)
    let result: AppendResult | undefined
    try {
      // One statement, so one round trip and the database's own atomicity; it writes nothing when
      // the stream is not at the expected version. A stream created by a writer that committed
      // after the statement's snapshot (PostgreSQL) looks absent to it, so when the version read
      // afterwards does satisfy the expectation, the append is tried again.
      for (let attempt = 1; result === undefined; attempt++) {
        result = await this.#appendOnce(stream, prepared.events, prepared.expected)
        if (result !== undefined) break
        const actual = await this.streamVersion(stream)
        checkExpected(stream, prepared.expected, actual)
        if (attempt === 3) {
          throw cqrsErrors.create('PLINTH_ERR_EVENTS_CONFLICT', `stream "${stream}" kept changing during the append (now at version ${actual}); nothing was written`, { details: { stream, expected: prepared.expected, actual } })
        }
      }
    } catch (error) {
      throw translate(error, stream, prepared.expected)
    }
    // One statement under the append lock draws the positions of an append one after the other, as it does the versions.
    const first = { version: result.version - prepared.events.length + 1, position: result.position - prepared.events.length + 1 }
    this.#listeners.emit({ stream, ...result, events: prepared.events.map((event, index) => ({ id: event.id, type: event.type, version: first.version + index, position: first.position + index })) })
    return result
  }

  /** The append as one statement (append-statement.ts); undefined when the stream is not at the expected version. */
  async #appendOnce(stream: string, events: readonly PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult | undefined> {
    const { rows } = await this.#db.executeQuery(appendStatement(this.#postgres ? 'postgres' : 'sqlite', stream, events, expected, new Date().toISOString()))
    let version = 0
    let position = 0
    for (const row of rows) {
      if (row.version === null) return undefined
      version = Math.max(version, Number(row.version))
      position = Math.max(position, Number(row.position))
    }
    return rows.length === 0 ? undefined : { version, position }
  }

  async readStream<Data = unknown>(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<Data>[]> {
    checkStream(stream)
    const from = checkWhole(options.from, 'from', 0)
    const limit = checkWhole(options.limit, 'limit', 1)
    const backwards = options.direction === 'backwards'
    let query = this.#db.selectFrom(t.events).selectAll().where('stream', '=', stream)
    if (from !== undefined) query = query.where('version', backwards ? '<=' : '>=', from)
    query = query.orderBy('version', backwards ? 'desc' : 'asc')
    if (limit !== undefined) query = query.limit(limit)
    const rows = (await query.execute()) as EventRow[]
    return rows.map((row) => toRecorded<Data>(row))
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = checkWhole(options.after, 'after', 0) ?? 0
    const limit = checkWhole(options.limit, 'limit', 1) ?? 1_000
    const rows = (await this.#db.selectFrom(t.events).selectAll().where('position', '>', after).orderBy('position', 'asc').limit(limit).execute()) as EventRow[]
    return rows.map((row) => toRecorded(row))
  }

  async streamVersion(stream: string): Promise<number> {
    checkStream(stream)
    // On SQLite the stream table is not kept by appends (see #appendOnce): its last event says.
    const row = this.#postgres
      ? await this.#db.selectFrom(t.streams).select('version').where('stream', '=', stream).executeTakeFirst()
      : await this.#db.selectFrom(t.events).select((eb) => eb.fn.max('version').as('version')).where('stream', '=', stream).executeTakeFirst()
    return Number(row?.version ?? 0)
  }

  async headPosition(): Promise<number> {
    const row = await this.#db.selectFrom(t.events).select((eb) => eb.fn.max('position').as('head')).executeTakeFirst()
    return Number(row?.head ?? 0)
  }

  async readCheckpoint(name: string): Promise<number> {
    checkName(name, 'checkpoint')
    const row = await this.#db.selectFrom(t.checkpoints).select('position').where('name', '=', name).executeTakeFirst()
    return row === undefined ? 0 : Number(row.position)
  }

  async saveCheckpoint(name: string, position: number, db: Kysely<any> = this.#db): Promise<void> {
    checkName(name, 'checkpoint')
    checkWhole(position, 'position', 0)
    const updated_at = new Date().toISOString()
    await db
      .insertInto(t.checkpoints)
      .values({ name, position, updated_at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ position, updated_at }))
      .execute()
  }

  /**
   * Reads a checkpoint inside a transaction and holds it (on PostgreSQL, FOR UPDATE) until the
   * transaction ends, creating it at 0 if it is new, so that two instances never apply one page.
   */
  async lockCheckpoint(name: string, trx: Kysely<any>): Promise<number> {
    checkName(name, 'checkpoint')
    await trx.insertInto(t.checkpoints).values({ name, position: 0, updated_at: new Date().toISOString() }).onConflict((oc) => oc.column('name').doNothing()).execute()
    let query = trx.selectFrom(t.checkpoints).select('position').where('name', '=', name)
    if (this.#postgres) query = query.forUpdate()
    const row = await query.executeTakeFirstOrThrow()
    return Number(row.position)
  }

  onAppended(listener: AppendListener): () => void {
    return this.#listeners.add(listener)
  }

  notifyAppended(appended: Appended, origin: AppendOrigin): void {
    this.#listeners.emit(appended, origin)
  }

  /** The Kysely instance the store writes with, for projections that update their read model in the checkpoint's transaction. */
  get kysely(): Kysely<any> {
    return this.#db
  }

  /** The store does not own the database connection; the database component closes it. */
  close(): Promise<void> {
    this.#listeners.clear()
    return Promise.resolve()
  }
}
