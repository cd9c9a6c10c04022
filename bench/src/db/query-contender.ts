/**
 * One contender of the query benchmark: raw Kysely on the engine's driver, or the same query
 * through Plinth's database component. It runs one batch at a time and reports the wall time and
 * the CPU time the batch took. Opened in the benchmark's process, or, run as a child process
 * with QUERY_CONTENDER set (BENCH_ISOLATE=1), served over IPC from its own process.
 */
import BetterSqlite3 from 'better-sqlite3'
import { createApp } from '@plinth/core'
import { Database, database } from '@plinth/db'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'

export type Engine = 'sqlite' | 'postgres'
export type Contender = 'kysely' | 'plinth'
export type Workload = 'select 1' | 'select-by-id' | 'insert' | 'select-by-id x16'

export interface QueryContenderSetup {
  readonly engine: Engine
  readonly contender: Contender
  /** `sqlite:/path` or a postgres:// URL; the table `items` exists in it. */
  readonly url: string
  readonly rows: number
  readonly poolMax: number
}

export type QueryRequest = { type: 'batch'; workload: Workload; queries: number } | { type: 'close' }
export type QueryReply = { type: 'ready' } | { type: 'batch'; ms: number; cpuMs: number } | { type: 'closed' } | { type: 'error'; error: string }

interface Tables {
  items: { id: number; note: string }
  writes: { id: number | undefined; note: string }
}

async function open(setup: QueryContenderSetup): Promise<{ db: Kysely<Tables>; close: () => Promise<void> }> {
  if (setup.contender === 'plinth') {
    const app = createApp({ name: 'bench', components: [database({ url: setup.url, migrate: false, pool: { max: setup.poolMax } })], logging: { level: 'silent' } })
    await app.start({ env: {} })
    return { db: app.container.get(Database).typed<Tables>(), close: () => app.stop().then(() => undefined) }
  }
  if (setup.engine === 'sqlite') {
    const file = new BetterSqlite3(setup.url.slice('sqlite:'.length))
    // The same settings Plinth opens SQLite with, so that only the layer on top differs.
    file.pragma('journal_mode = WAL')
    file.pragma('synchronous = NORMAL')
    file.pragma('foreign_keys = ON')
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: file }) })
    return { db, close: () => db.destroy() }
  }
  const pool = new pg.Pool({ connectionString: setup.url, max: setup.poolMax })
  // pg requires a listener for idle clients' errors (dropping the database at the end raises one).
  pool.on('error', () => undefined)
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) })
  return { db, close: () => db.destroy() }
}

export interface OpenContender {
  batch(workload: Workload, queries: number): Promise<{ ms: number; cpuMs: number }>
  close(): Promise<void>
}

/** Opens a contender in this process. */
export async function openContender(setup: QueryContenderSetup): Promise<OpenContender> {
  const { db, close } = await open(setup)
  let next = 0
  const id = () => (next = (next % setup.rows) + 1)
  const selectOne = () => db.selectFrom('items').select(['id', 'note']).where('id', '=', id()).executeTakeFirstOrThrow()

  async function batch(workload: Workload, queries: number): Promise<{ ms: number; cpuMs: number }> {
    const cpu = process.cpuUsage()
    const began = performance.now()
    if (workload === 'select 1') {
      const one = sql`select 1`
      for (let i = 0; i < queries; i++) await one.execute(db)
    } else if (workload === 'select-by-id') {
      for (let i = 0; i < queries; i++) await selectOne()
    } else if (workload === 'insert') {
      for (let i = 0; i < queries; i++) await db.insertInto('writes').values({ id: undefined, note: 'x' }).execute()
    } else {
      let left = queries
      const lane = async () => {
        while (left-- > 0) await selectOne()
      }
      await Promise.all(Array.from({ length: 16 }, lane))
  }
  const ms = performance.now() - began
  const used = process.cpuUsage(cpu)
  return { ms, cpuMs: (used.user + used.system) / 1_000 }
  }

  await sql`select 1`.execute(db)
  return { batch, close }
}

/** As a child process: one contender, served over IPC. */
async function serve(setup: QueryContenderSetup): Promise<void> {
  const send = (reply: QueryReply) => process.send!(reply)
  const contender = await openContender(setup)
  send({ type: 'ready' })
  process.on('message', (request: QueryRequest) => {
    if (request.type === 'close') {
      void contender.close().then(() => {
        send({ type: 'closed' })
        process.disconnect()
      })
      return
    }
    contender.batch(request.workload, request.queries).then(
      (times) => send({ type: 'batch', ...times }),
      (error: unknown) => send({ type: 'error', error: String(error) }),
    )
  })
}

if (process.env.QUERY_CONTENDER && process.send) await serve(JSON.parse(process.env.QUERY_CONTENDER) as QueryContenderSetup)
