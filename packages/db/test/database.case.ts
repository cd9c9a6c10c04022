/**
 * One conformance suite for every engine (as hono runs one router suite against every router):
 * sqlite.test.ts and postgres.test.ts run it against a real SQLite file and a real PostgreSQL
 * database.
 */
import { existsSync } from 'node:fs'
import { component, createApp, isPlinthError, Metrics, runCommand, type App } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { sql, type Kysely } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { Database, database, defineMigrations, type DatabaseOptions, type Migration } from '../src/index.js'
import { runScript } from './helpers/processes.js'

export interface EngineUnderTest {
  readonly dialect: 'sqlite' | 'postgres'
  /** A fresh, empty database for one test. */
  fresh(): Promise<{ url: string; cleanup(): Promise<void> }>
  /** Runs SQL on the database behind `url` directly, not through Plinth. */
  query<R = Record<string, unknown>>(url: string, text: string): Promise<R[]>
  /** SQL that holds a connection for about `seconds`. */
  sleep(seconds: number): string
}

const quiet = { level: 'silent' } as const

function appWith(url: string, migrations: Record<string, Migration>, options: DatabaseOptions = {}): App {
  return createApp({
    name: 'conformance',
    components: [database({ url, migrate: true, connectTimeout: 5_000, ...options }), defineMigrations('inventory', migrations)],
    logging: quiet,
  })
}

const createItems: Migration = {
  up: (db) => db.schema.createTable('items').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('note', 'text').execute(),
  down: (db) => db.schema.dropTable('items').execute(),
}
const addPrice: Migration = {
  up: (db) => db.schema.alterTable('items').addColumn('price', 'integer').execute(),
  down: (db) => db.schema.alterTable('items').dropColumn('price').execute(),
}

async function tableNames(engine: EngineUnderTest, url: string): Promise<string[]> {
  const rows =
    engine.dialect === 'sqlite'
      ? await engine.query<{ name: string }>(url, `select name from sqlite_master where type = 'table'`)
      : await engine.query<{ name: string }>(url, `select tablename as name from pg_tables where schemaname = 'public'`)
  return rows.map((r) => r.name).sort()
}

async function recorded(engine: EngineUnderTest, url: string): Promise<string[]> {
  const rows = await engine.query<{ module: string; name: string }>(url, 'select module, name from plinth_migrations order by seq')
  return rows.map((r) => `${r.module}/${r.name}`)
}

export function describeConformance(engine: EngineUnderTest): void {
  let cleanups: Array<() => Promise<void>> = []
  const fresh = async () => {
    const db = await engine.fresh()
    cleanups.push(db.cleanup)
    return db.url
  }
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    cleanups = []
  })

  describe('connection', () => {
    it('opens nothing when created, and connects on the first query', async () => {
      const url = await fresh()
      await using t = await startTestApp(createApp({ name: 'lazy', components: [database({ url }, { eager: false })], logging: quiet }))
      const db = await t.resolve(Database)
      expect(db.state).toBe('idle')
      expect(db.poolStats().size).toBe(0)
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db.kysely)
      expect(Number(rows[0]?.one)).toBe(1)
      expect(db.state).toBe('ready')
      expect(db.poolStats().size).toBeGreaterThanOrEqual(1)
    })

    it('reports health as a bounded round trip, with its latency and the pool figures', async () => {
      const url = await fresh()
      await using t = await startTestApp(appWith(url, { '001_items': createItems }, { pool: { max: 3 } }))
      const result = await t.get(Database).health()
      expect(result).toMatchObject({ status: 'up', details: { dialect: engine.dialect, pool: { max: engine.dialect === 'sqlite' ? 1 : 3, inUse: 0, waiting: 0 } } })
      expect((result as unknown as { details: { latencyMs: number } }).details.latencyMs).toBeGreaterThan(0)
    })

    it('counts connections in use and callers waiting for one, and exports them as metrics', async () => {
      const url = await fresh()
      await using t = await startTestApp(appWith(url, {}, { pool: { max: 2 } }))
      const db = t.get(Database)
      const kysely: Kysely<any> = db.kysely
      let during = db.poolStats()
      if (engine.dialect === 'postgres') {
        const queries = Array.from({ length: 4 }, () => sql.raw(engine.sleep(0.3)).execute(kysely))
        await new Promise((resolve) => setTimeout(resolve, 150))
        during = db.poolStats()
        await Promise.all(queries)
        expect(during).toMatchObject({ size: 2, max: 2, inUse: 2, waiting: 2 })
      } else {
        let waiting: Promise<unknown>[] = []
        await kysely.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx)
          waiting = [sql`select 1`.execute(kysely), sql`select 2`.execute(kysely)]
          await new Promise((resolve) => setTimeout(resolve, 20))
          during = db.poolStats()
        })
        await Promise.all(waiting)
        expect(during).toMatchObject({ size: 1, max: 1, inUse: 1, waiting: 2 })
      }
      expect(db.poolStats()).toMatchObject({ inUse: 0, waiting: 0 })
      const scrape = (await (await t.resolve(Metrics)).render()).body
      expect(scrape).toContain(`db_client_connection_max{db_client_connection_pool_name="database"} ${engine.dialect === 'sqlite' ? 1 : 2}`)
      expect(scrape).toContain('db_client_connection_pending_requests{db_client_connection_pool_name="database"} 0')
    })
  })

  describe('migrations', () => {
    it('applies pending migrations at start, in order, each recorded once; the next start applies none', async () => {
      const url = await fresh()
      const order: string[] = []
      const tracked = (name: string, m: Migration): Migration => ({ up: async (db) => (order.push(name), m.up(db)) })
      const migrations = { '002_price': tracked('002_price', addPrice), '001_items': tracked('001_items', createItems) }
      {
        await using _t = await startTestApp(appWith(url, migrations))
      }
      expect(order).toEqual(['001_items', '002_price'])
      await using t = await startTestApp(appWith(url, migrations))
      expect(order).toHaveLength(2)
      expect(await recorded(engine, url)).toEqual(['inventory/001_items', 'inventory/002_price'])
      expect((await t.get(Database).migrator.status()).map((m) => m.state)).toEqual(['applied', 'applied'])
    })

    it('rolls back a failing migration and aborts start-up with its name and the database error', async () => {
      const url = await fresh()
      const broken: Migration = {
        up: async (db) => {
          await db.schema.createTable('half_done').addColumn('id', 'integer').execute()
          await sql`select * from no_such_table`.execute(db)
        },
      }
      const app = appWith(url, { '001_items': createItems, '002_broken': broken, '003_price': addPrice })
      const error = await app.start().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isPlinthError(error, 'PLINTH_ERR_BOOT_FAILED')).toBe(true)
      const cause = (error as Error).cause
      expect(isPlinthError(cause, 'PLINTH_ERR_MIGRATION_FAILED')).toBe(true)
      expect((cause as Error).message).toMatch(/migration "inventory\/002_broken" failed to apply and was rolled back/)
      expect((cause as Error).message).toMatch(/no_such_table/)
      expect(await tableNames(engine, url)).not.toContain('half_done')
      expect(await recorded(engine, url)).toEqual(['inventory/001_items'])
    })

    it('migrate status, up and down from the command line', async () => {
      const url = await fresh()
      const app = createApp({
        name: 'cli',
        components: [database({ url, migrate: false }), defineMigrations('inventory', { '001_items': createItems, '002_price': addPrice })],
        logging: quiet,
      })
      const run = async (...argv: string[]) => {
        const out: string[] = []
        const err: string[] = []
        const code = await runCommand(app, ['migrate', ...argv], { out: (t) => out.push(t), err: (t) => err.push(t) })
        return { code, out: out.join('\n'), err: err.join('\n') }
      }
      // A SQLite file that is not there yet is reported as such and left uncreated; a server's database is asked.
      const first = engine.dialect === 'sqlite' ? /pending\s+inventory\/001_items[\s\S]*no database there yet, 2 pending/ : /pending\s+inventory\/001_items[\s\S]*0 applied, 2 pending/
      expect(await run('status')).toMatchObject({ code: 0, out: expect.stringMatching(first) })
      if (engine.dialect === 'sqlite') expect(existsSync(url.slice('sqlite:'.length))).toBe(false)
      expect(await run('up')).toMatchObject({ code: 0, out: expect.stringMatching(/applied\s+inventory\/001_items[\s\S]*applied\s+inventory\/002_price/) })
      expect(await run('down')).toMatchObject({ code: 0, out: expect.stringMatching(/reverted inventory\/002_price/) })
      expect(await recorded(engine, url)).toEqual(['inventory/001_items'])
      expect(await run('status')).toMatchObject({ code: 0, out: expect.stringMatching(/applied\s+inventory\/001_items[\s\S]*pending\s+inventory\/002_price/) })
      expect(await run('sideways')).toMatchObject({ code: 2, err: expect.stringMatching(/needs one of up, down or status/) })
      expect(await run('up')).toMatchObject({ code: 0 })
      expect(await run('up')).toMatchObject({ code: 0, out: expect.stringMatching(/nothing to apply/) })
    })

    it('has each migration applied exactly once when four processes start at once', async () => {
      const url = await fresh()
      const runs = Array.from({ length: 4 }, () => runScript('./migrating-app.ts', { TEST_DATABASE_URL: url, MODE: 'normal', BARRIER: '1' }))
      await Promise.all(runs.map((r) => r.waitFor('LOADED')))
      for (const run of runs) run.send('go')
      const results = await Promise.all(runs.map((r) => r.exited))
      for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 })
      const log = await engine.query<{ migration: string; pid: number }>(url, 'select migration, pid from applied_log order by migration')
      expect(log.map((r) => r.migration)).toEqual(['001_items', '002_tags', '003_item_price'])
      expect(await recorded(engine, url)).toEqual(['inventory/001_items', 'inventory/002_tags', 'inventory/003_item_price'])
      // The others found the lock taken and waited, rather than finding the work done by luck.
      expect(results.some((r) => r.stderr.includes("waiting for another instance's migrations"))).toBe(true)
    }, 120_000)

    it('completes on the next start after a process is killed in the middle of a migration', async () => {
      const url = await fresh()
      const slow = runScript('./migrating-app.ts', { TEST_DATABASE_URL: url, MODE: 'slow' })
      await slow.waitFor('MIGRATING 002_tags')
      slow.child.kill('SIGKILL')
      expect((await slow.exited).signal).toBe('SIGKILL')
      expect(await recorded(engine, url)).toEqual(['inventory/001_items'])
      expect(await tableNames(engine, url)).not.toContain('tags')

      const next = await runScript('./migrating-app.ts', { TEST_DATABASE_URL: url, MODE: 'normal' }).exited
      expect(next, next.stderr).toMatchObject({ code: 0 })
      expect(await recorded(engine, url)).toEqual(['inventory/001_items', 'inventory/002_tags', 'inventory/003_item_price'])
      const log = await engine.query<{ migration: string }>(url, 'select migration from applied_log order by migration')
      expect(log.map((r) => r.migration)).toEqual(['001_items', '002_tags', '003_item_price'])
      expect(await engine.query(url, 'select name from tags')).toEqual([{ name: 'first' }])
    }, 120_000)
  })

  describe('queries', () => {
    it('serves the components that depend on it, through Kysely', async () => {
      const url = await fresh()
      interface Tables {
        items: { id: number; note: string | null }
      }
      const notes = component('notes', {
        eager: true,
        deps: { db: Database },
        create: ({ db }) => ({
          add: (id: number, note: string) => db.typed<Tables>().insertInto('items').values({ id, note }).execute(),
          all: () => db.typed<Tables>().selectFrom('items').select(['id', 'note']).orderBy('id').execute(),
        }),
      })
      const app = createApp({ name: 'q', components: [database({ url, migrate: true }), defineMigrations('inventory', { '001_items': createItems }), notes], logging: quiet })
      await using t = await startTestApp(app)
      await t.get(notes).add(1, 'one')
      await t.get(notes).add(2, 'two')
      expect(await t.get(notes).all()).toEqual([
        { id: 1, note: 'one' },
        { id: 2, note: 'two' },
      ])
    })
  })
}
