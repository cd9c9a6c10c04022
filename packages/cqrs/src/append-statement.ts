/**
 * The SQL of one append, for each dialect: a single statement, so an append is one round trip
 * and atomic by itself, and it writes nothing when the stream is not at the expected version
 * (the statement then returns no row, or a null version).
 *
 * The text is put together here rather than with Kysely's `sql` template: it depends only on the
 * number of events and the kind of expectation, and an append is hot enough that compiling a
 * template tree per call showed up beside the driver's own work in bench/'s append row.
 */
import { CompiledQuery } from 'kysely'
import type { ExpectedVersion } from './contract.js'
import { eventTables as t } from './schema.js'
import type { PreparedEvent } from './validate.js'

// Any constant shared by every instance of every app on the database; only appends take it.
const appendLock = 0x706c696e // "plin"

/**
 * The text of a statement that node-postgres prepares once per connection under `name`: the
 * driver hands the query's text to the client as it is, and the client takes an object with a
 * `text` and a `name` as a named statement, so later appends of the same shape skip the server's
 * parse and plan of the CTE. The name must stand for one text only: it is built from everything
 * the text depends on. (A pooler between the app and PostgreSQL must carry named statements:
 * PgBouncer does in transaction mode from 1.21 with max_prepared_statements set.)
 */
function named(name: string, text: string): string {
  // A plain object (not a String wrapper, whose every character the client would copy as a property).
  return { text, name, toString: () => text } as unknown as string
}

const namedUpTo = 32

/** Whether an append may create the stream: only when it expects nothing to be there. */
const mayCreate = (expected: ExpectedVersion) => expected === 'any' || expected === 'no-stream' || expected === 0

/** The expected-version check on `current`, as SQL through `param`; undefined for 'any'. */
function holds(expected: ExpectedVersion, current: string, param: (value: unknown) => string): string | undefined {
  if (expected === 'any') return undefined
  if (expected === 'stream-exists') return `${current} > 0`
  return `${current} = ${param(expected === 'no-stream' ? 0 : expected)}`
}

/**
 * PostgreSQL: the advisory lock is taken before the stream's row is upserted and before the
 * sequence hands out positions (each part reads the one before it), and held until the
 * statement's transaction commits, so positions become visible in the order they were drawn.
 * The upsert's conflict branch sees the latest committed version whatever the statement's
 * snapshot, and its WHERE is the expected-version check: a mismatch updates no row, so no event
 * is inserted. A stream that must already exist is only offered to the upsert when the snapshot
 * shows it (otherwise the insert branch would create it).
 */
function postgres(stream: string, events: readonly PreparedEvent[], expected: ExpectedVersion, recordedAt: string): CompiledQuery {
  const params: unknown[] = []
  const param = (value: unknown) => `$${params.push(value)}`
  const name = param(stream)
  const count = param(events.length)
  const check = holds(expected, `${t.streams}.version`, param)
  const values = events.map((event, index) => `(${param(event.id)}::text, ${index + 1}, ${param(event.type)}::text, ${param(event.data)}::text, ${param(event.metadata)}::text)`).join(', ')
  const text = `with lock as (select pg_advisory_xact_lock(${appendLock})),
s as (
  insert into ${t.streams} (stream, version)
  select ${name}::text, ${count}::int from lock where ${mayCreate(expected)} or exists (select 1 from ${t.streams} where stream = ${name}::text)
  on conflict (stream) do update set version = ${t.streams}.version + excluded.version${check === undefined ? '' : ` where ${check}`}
  returning version
),
e as (
  insert into ${t.events} (event_id, stream, version, type, data, metadata, recorded_at)
  select v.id, ${name}::text, s.version - ${count}::int + v.i, v.type, v.data, v.metadata, ${param(recordedAt)}::text
  from s cross join (values ${values}) as v (id, i, type, data, metadata)
  order by v.i
  returning position
)
select (select version from s) as version, (select max(position) from e) as position`
  // A statement per shape and connection stays on the server: only the common sizes are named.
  if (events.length > namedUpTo) return CompiledQuery.raw(text, params)
  const shape = `${events.length}_${expected === 'any' ? 'any' : expected === 'stream-exists' ? 'exists' : 'at'}_${mayCreate(expected) ? 'c' : 'n'}`
  return CompiledQuery.raw(named(`plinth_append_${shape}`, text), params)
}

/**
 * SQLite: a writing statement holds the database's write lock from its first step, so the
 * version it reads cannot change under it. The stream's version is its last event's, one seek in
 * the (stream, version) index: no second table to write on every append. One event (the common
 * append) needs no VALUES list to join, a shorter statement to prepare, which the driver does for
 * every statement it runs.
 */
function sqlite(stream: string, events: readonly PreparedEvent[], expected: ExpectedVersion, recordedAt: string): CompiledQuery {
  const params: unknown[] = []
  const param = (value: unknown) => (params.push(value), '?')
  const current = () => `(select coalesce(max(version), 0) as version from ${t.events} where stream = ${param(stream)}) as s`
  const only = events.length === 1 ? events[0] : undefined
  let text: string
  if (only !== undefined) {
    text = `insert into ${t.events} (event_id, stream, version, type, data, metadata, recorded_at)
select ${param(only.id)}, ${param(stream)}, s.version + 1, ${param(only.type)}, ${param(only.data)}, ${param(only.metadata)}, ${param(recordedAt)} from ${current()}`
  } else {
    const head = `insert into ${t.events} (event_id, stream, version, type, data, metadata, recorded_at)
select v.column1, ${param(stream)}, s.version + v.column2, v.column3, v.column4, v.column5, ${param(recordedAt)} from ${current()}`
    text = `${head}, (values ${events.map((event, index) => `(${param(event.id)}, ${index + 1}, ${param(event.type)}, ${param(event.data)}, ${param(event.metadata)})`).join(', ')}) as v`
  }
  const check = holds(expected, 's.version', param)
  if (check !== undefined) text += ` where ${check}`
  if (only === undefined) text += ' order by v.column2'
  return CompiledQuery.raw(`${text} returning position, version`, params)
}

/**
 * The statement of one append; its rows carry the new version and the last position (none, or
 * a null version, when the stream was not at the expected version).
 *
 * @example
 * const { rows } = await db.executeQuery(appendStatement('postgres', 'device-7', prepared.events, 3, new Date().toISOString()))
 */
export function appendStatement(dialect: 'sqlite' | 'postgres', stream: string, events: readonly PreparedEvent[], expected: ExpectedVersion, recordedAt: string): CompiledQuery<{ version: number | string | null; position: number | string | null }> {
  return (dialect === 'postgres' ? postgres : sqlite)(stream, events, expected, recordedAt)
}
