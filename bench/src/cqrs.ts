/**
 * @plinth/cqrs beside what it is built on, in one run:
 *
 * - the event store's appends (one event, and batches of 10, each with its expected version)
 *   and stream reads, on SQLite (a file, WAL) and PostgreSQL (127.0.0.1:5432 or
 *   BENCH_DATABASE_URL), beside the same rows inserted and read directly with Kysely into a
 *   table of the same shape (same keys, same JSON text, same ids). Target: within 1.5x.
 * - Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql), appending the same
 *   events to its own tables, when it is installed.
 * - a command sent through the command bus with three middlewares, beside calling its handler.
 *
 * Each row alternates the contenders batch by batch (which goes first alternates too), so that
 * whatever else the machine does falls on both, and reports the median of the rounds' ratios
 * of wall time per operation (a database round trip is the point of these rows).
 *
 *   npx tsx --conditions=@plinth/source bench/src/cqrs.ts [--quick]
 *   npm run build && node bench/dist/cqrs.js
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import BetterSqlite3 from 'better-sqlite3'
import { createApp, provide } from '@plinth/core'
import { CommandMiddlewares, SqlEventStore, command, eventStoreMigrations, handleCommand, type CommandMiddleware } from '@plinth/cqrs'
import { createTestDatabase, probePostgres } from '@plinth/db/testing'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import { formatOps, formatRatio, table } from './report.js'

interface RawEvent {
  position: number | undefined
  event_id: string
  stream: string
  version: number
  type: string
  data: string
  metadata: string
  recorded_at: string
}

const STREAMS = 200
const payload = { device: 'thermo-7', reading: { metric: 'temperature', value: 21.5, unit: 'celsius' }, tags: ['kitchen', 'ground-floor'] }

/** A contender: `run(n)` performs n operations. */
type Run = (n: number) => Promise<void>

interface Compared {
  readonly name: string
  readonly baseline: string
  /** Wall µs per operation, median over rounds, by contender. */
  readonly micros: Record<string, number>
  /** Median of the rounds' contender/baseline ratios of wall time, by contender. */
  readonly ratios: Record<string, number>
  /** The same of this process's CPU time (the database server's, for PostgreSQL, is not in it). */
  readonly cpuRatios: Record<string, number>
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs the contenders in alternating order, `rounds` times, `ops` operations each; the first is the baseline. */
async function compare(name: string, contenders: ReadonlyArray<readonly [string, Run]>, ops: number, rounds: number): Promise<Compared> {
  for (const [, run] of contenders) await run(Math.max(1, ops >> 2)) // warm-up
  const times = new Map<string, number[]>(contenders.map(([label]) => [label, []]))
  const cpuTimes = new Map<string, number[]>(contenders.map(([label]) => [label, []]))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse()
    for (const [label, run] of order) {
      const cpu = process.cpuUsage()
      const began = performance.now()
      await run(ops)
      times.get(label)!.push(((performance.now() - began) * 1000) / ops)
      const used = process.cpuUsage(cpu)
      cpuTimes.get(label)!.push((used.user + used.system) / ops)
    }
  }
  const baseline = contenders[0]![0]
  const ratioOf = (series: Map<string, number[]>, label: string) => median(series.get(label)!.map((t, i) => t / series.get(baseline)![i]!))
  const micros: Record<string, number> = {}
  const ratios: Record<string, number> = {}
  const cpuRatios: Record<string, number> = {}
  for (const [label] of contenders) {
    micros[label] = median(times.get(label)!)
    ratios[label] = ratioOf(times, label)
    cpuRatios[label] = ratioOf(cpuTimes, label)
  }
  return { name, baseline, micros, ratios, cpuRatios }
}

async function createTables(db: Kysely<any>, postgres: boolean): Promise<void> {
  for (const migration of Object.values(eventStoreMigrations)) await migration.up(db)
  // The raw contender's table: the store's events table, same columns and keys.
  await db.schema
    .createTable('raw_events')
    .addColumn('position', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('raw_events_stream_version', ['stream', 'version'])
    .execute()
}

/** Appends and reads, store beside raw Kysely, on one database. */
async function storeRows(engine: string, db: Kysely<any>, rounds: number, scale: number, extra: { emmett?: EmmettContender } = {}): Promise<Compared[]> {
  const store = new SqlEventStore(db, { dialect: engine === 'PostgreSQL' ? 'postgres' : 'sqlite' })
  // Each contender appends to streams of its own, round-robin, knowing each stream's version as an aggregate would.
  const cursor = (prefix: string) => {
    const versions = new Array<number>(STREAMS).fill(0)
    let next = 0
    return () => {
      const index = next++ % STREAMS
      return { stream: `${prefix}-${index}`, version: versions[index]!, advance: (by: number) => (versions[index]! += by) }
    }
  }
  const rawRows = (stream: string, version: number, count: number): RawEvent[] => {
    const recordedAt = new Date().toISOString()
    return Array.from({ length: count }, (_, i) => ({ position: undefined, event_id: randomUUID(), stream, version: version + i + 1, type: 'reading.taken', data: JSON.stringify(payload), metadata: JSON.stringify({}), recorded_at: recordedAt }))
  }
  const events = (count: number) => Array.from({ length: count }, () => ({ type: 'reading.taken', data: payload }))

  const appends = (size: number): Array<readonly [string, Run]> => {
    const raw = cursor(`raw-${size}`)
    const plinth = cursor(`plinth-${size}`)
    const list: Array<readonly [string, Run]> = [
      ['Kysely insert', async (n) => {
        for (let i = 0; i < n; i++) {
          const at = raw()
          await db.insertInto('raw_events').values(rawRows(at.stream, at.version, size)).execute()
          at.advance(size)
        }
      }],
      ['@plinth/cqrs append', async (n) => {
        for (let i = 0; i < n; i++) {
          const at = plinth()
          await store.append(at.stream, events(size), { expectedVersion: at.version })
          at.advance(size)
        }
      }],
    ]
    if (extra.emmett) {
      const emmett = cursor(`emmett-${size}`)
      const contender = extra.emmett
      list.push(['Emmett appendToStream', async (n) => {
        for (let i = 0; i < n; i++) {
          const at = emmett()
          await contender.append(at.stream, size, at.version)
          at.advance(size)
        }
      }])
    }
    return list
  }

  const rows: Compared[] = []
  const ops = (n: number) => Math.max(20, Math.round(n * scale))
  rows.push(await compare(`${engine}: append 1 event`, appends(1), ops(engine === 'PostgreSQL' ? 150 : 600), rounds))
  rows.push(await compare(`${engine}: append 10 events`, appends(10), ops(engine === 'PostgreSQL' ? 100 : 300), rounds))

  // Reads: one stream of 100 events each, read whole and parsed.
  const rawStream = 'read-raw'
  const plinthStream = 'read-plinth'
  await db.insertInto('raw_events').values(rawRows(rawStream, 0, 100)).execute()
  await store.append(plinthStream, events(100), { expectedVersion: 'no-stream' })
  rows.push(await compare(`${engine}: read a stream of 100 events`, [
    ['Kysely select', async (n) => {
      for (let i = 0; i < n; i++) {
        const found = (await db.selectFrom('raw_events').selectAll().where('stream', '=', rawStream).orderBy('version', 'asc').execute()) as RawEvent[]
        for (const row of found) {
          JSON.parse(row.data)
          JSON.parse(row.metadata)
        }
      }
    }],
    ['@plinth/cqrs readStream', async (n) => {
      for (let i = 0; i < n; i++) await store.readStream(plinthStream)
    }],
  ], ops(200), rounds))
  return rows
}

interface EmmettContender {
  append(stream: string, count: number, version: number): Promise<void>
  close(): Promise<void>
}

/** Emmett's PostgreSQL store, when installed (it is an optional contender: its engines and peers are checked at install). */
async function openEmmett(url: string): Promise<EmmettContender | string> {
  let module: { getPostgreSQLEventStore(url: string): { appendToStream(stream: string, events: unknown[], options?: { expectedStreamVersion?: bigint }): Promise<unknown>; close(): Promise<void> } }
  try {
    const name = '@event-driven-io/emmett-postgresql'
    module = (await import(name)) as typeof module
  } catch {
    return 'Emmett not installed (npm install -w bench @event-driven-io/emmett-postgresql)'
  }
  const store = module.getPostgreSQLEventStore(url)
  return {
    append: async (stream, count, version) => {
      const events = Array.from({ length: count }, () => ({ type: 'reading.taken', data: payload }))
      await store.appendToStream(stream, events, version === 0 ? {} : { expectedStreamVersion: BigInt(version) })
    },
    close: () => store.close(),
  }
}

/** A command through three middlewares, beside calling its handler. */
async function commandRow(rounds: number, scale: number): Promise<Compared> {
  const Rename = command('rename-device').of<{ id: string; name: string }, { ok: boolean }>()
  const handle = (input: { id: string; name: string }) => ({ ok: input.name.length > 0 })
  let seen = 0
  const middleware = (name: string, order: number): CommandMiddleware => ({
    name,
    order,
    handle: (context, next) => {
      seen++
      return next()
    },
  })
  const app = createApp({
    name: 'bench-commands',
    logging: { level: 'silent' },
    components: [
      provide(CommandMiddlewares, { value: middleware('logging', 100) }),
      provide(CommandMiddlewares, { value: middleware('metrics', 200) }),
      provide(CommandMiddlewares, { value: middleware('authorization', 300) }),
      handleCommand(Rename, { handle }),
    ],
  })
  await app.start({ env: {} })
  try {
    const send = app.container.get(Rename)
    const input = { id: 'd-1', name: 'kitchen' }
    const ops = Math.max(1_000, Math.round(20_000 * scale))
    const row = await compare('command: dispatch through 3 middlewares', [
      ['handler called directly', async (n) => {
        for (let i = 0; i < n; i++) await Promise.resolve(handle(input))
      }],
      ['@plinth/cqrs command bus', async (n) => {
        for (let i = 0; i < n; i++) await send(input)
      }],
    ], ops, rounds)
    if (seen === 0) throw new Error('the middlewares did not run')
    return row
  } finally {
    await app.stop()
  }
}

function report(rows: readonly Compared[], notes: readonly string[]): string {
  const lines = rows.flatMap((row) => Object.keys(row.micros).map((label) => [
    label === row.baseline ? row.name : '',
    label,
    `${row.micros[label]! >= 100 ? row.micros[label]!.toFixed(0) : row.micros[label]!.toFixed(2)} µs`,
    formatOps(1e6 / row.micros[label]!),
    label === row.baseline ? '' : formatRatio(row.ratios[label]!),
    label === row.baseline ? '' : formatRatio(row.cpuRatios[label]!),
  ]))
  return [
    '',
    '9. @plinth/cqrs: event store appends and reads beside raw Kysely (and Emmett), command bus overhead',
    '   wall time per op, median of interleaved rounds; "vs first" is the median of the rounds\' ratios of wall time,',
    '   and of this process\'s CPU time (SQLite runs in it; PostgreSQL\'s server work is only in the wall time)',
    table(['row', 'contender', 'time/op', 'ops/s', 'vs first (wall)', 'vs first (CPU)'], lines),
    ...notes.map((note) => `   ${note}`),
  ].join('\n')
}

/** The rows of this file, as the bench runner prints them (`--row=9`). */
export async function cqrsRow(scale = 1): Promise<string> {
  const rounds = scale < 1 ? 7 : 11
  const rows: Compared[] = []
  const notes: string[] = []

  const dir = mkdtempSync(join(tmpdir(), 'plinth-bench-cqrs-'))
  const file = new BetterSqlite3(join(dir, 'events.sqlite'))
  // The settings Plinth's database component opens SQLite with.
  file.pragma('journal_mode = WAL')
  file.pragma('synchronous = NORMAL')
  const sqlite = new Kysely<any>({ dialect: new SqliteDialect({ database: file }) })
  try {
    await createTables(sqlite, false)
    rows.push(...(await storeRows('SQLite', sqlite, rounds, scale)))
  } finally {
    await sqlite.destroy()
    rmSync(dir, { recursive: true, force: true })
  }

  const postgres = await probePostgres()
  if (postgres.available) {
    const database = await createTestDatabase('plinth_bench_cqrs')
    const pool = new pg.Pool({ connectionString: database.url, max: 4 })
    pool.on('error', () => undefined)
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
    const emmett = await openEmmett(database.url)
    if (typeof emmett === 'string') notes.push(emmett)
    try {
      await createTables(db, true)
      rows.push(...(await storeRows('PostgreSQL', db, rounds, scale, typeof emmett === 'string' ? {} : { emmett })))
    } finally {
      if (typeof emmett !== 'string') await emmett.close()
      await db.destroy()
      await database.drop()
    }
  } else {
    notes.push(`PostgreSQL rows skipped: ${postgres.reason || 'not reachable'}`)
  }

  rows.push(await commandRow(rounds, scale))
  return report(rows, notes)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await cqrsRow(process.argv.includes('--quick') ? 0.25 : 1))
}
