import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { createApp, createLogger, defineModule, token, type DatabaseBootstrapContext } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { database, sqlDatabaseDriver, tablesCreatedBy, type Database } from '../src/index.js'
import { dropDatabase, postgres, query, uniqueName, urlOf } from './helpers/postgres.js'

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-db-bootstrap-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const schema = `
create table if not exists readings (device text not null, at text not null, value real);
create table if not exists "devices" (id text primary key);
`
const TelemetryDb = token('telemetry-db').of<Database>()

function telemetryApp(dataDir: string, baseDir: string, options: Record<string, unknown> = { sql: schema }) {
  const telemetry = defineModule({
    id: 'telemetry',
    baseDir,
    bootstrap: { databases: [{ name: 'telemetry', options }] },
    components: [database({ name: 'telemetry', dataDir }, { token: TelemetryDb })],
  })
  return createApp({ name: 'bootstrap', modules: [telemetry], bootstrap: { dataDir, standardDirectories: false }, logging: { level: 'silent' } })
}

const tables = (file: string) => {
  const db = new BetterSqlite3(file, { readonly: true })
  try {
    return (db.prepare(`select name from sqlite_master where type = 'table' order by name`).all() as { name: string }[]).map((r) => r.name)
  } finally {
    db.close()
  }
}

describe('the database bootstrap driver', () => {
  it('reads the tables a schema creates', () => {
    expect(tablesCreatedBy(schema)).toEqual(['readings', 'devices'])
    expect(tablesCreatedBy('CREATE UNLOGGED TABLE public."Events" (x int); create temp table t (y int)')).toEqual(['public.Events', 't'])
  })

  describe('on SQLite', () => {
    it('creates a declared database with its tables before modules load, once', async () => {
      const dir = tempDir()
      const data = join(dir, 'data')
      const dryRun = await telemetryApp(data, dir).bootstrap({ dryRun: true })
      expect(dryRun?.actions).toContainEqual(expect.objectContaining({ action: 'create', subject: 'database', target: 'telemetry', module: 'telemetry' }))
      expect(existsSync(join(data, 'telemetry.sqlite'))).toBe(false)

      const cold = await telemetryApp(data, dir).bootstrap()
      expect(cold?.actions).toContainEqual(expect.objectContaining({ action: 'create', subject: 'database', target: 'telemetry' }))
      expect(tables(join(data, 'telemetry.sqlite'))).toEqual(['devices', 'readings'])

      const warm = await telemetryApp(data, dir).bootstrap()
      expect(warm?.actions).toContainEqual(expect.objectContaining({ action: 'skip', subject: 'database', target: 'telemetry' }))

      // The module's own database component finds it where the bootstrap made it.
      await using t = await startTestApp(telemetryApp(data, dir))
      await t.get(TelemetryDb).kysely.insertInto('devices').values({ id: 'd1' }).execute()
      expect(await t.get(TelemetryDb).kysely.selectFrom('devices').selectAll().execute()).toEqual([{ id: 'd1' }])
    })

    it('repairs a file that lacks its tables, and reads the schema from a file beside the module', async () => {
      const dir = tempDir()
      const data = join(dir, 'data')
      writeFileSync(join(dir, 'schema.sql'), schema)
      await telemetryApp(data, dir, { sql: 'select 1' }).bootstrap()
      expect(tables(join(data, 'telemetry.sqlite'))).toEqual([])
      const repaired = await telemetryApp(data, dir, { schema: 'schema.sql' }).bootstrap()
      expect(repaired?.actions).toContainEqual(expect.objectContaining({ action: 'create', target: 'telemetry' }))
      expect(tables(join(data, 'telemetry.sqlite'))).toEqual(['devices', 'readings'])
    })
  })

  it('warns of an optional PostgreSQL database it cannot reach in one line, with the code and hint and no stack', async () => {
    const dir = tempDir()
    const lines: string[] = []
    const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(...String(chunk).split('\n').filter(Boolean))) })
    const app = defineModule({ id: 'chat', baseDir: dir, bootstrap: { databases: [{ name: 'app', optional: true, options: { url: 'postgres://plinth:pw@127.0.0.1:1/x' } }] } })
    await createApp({ name: 'closed-port', modules: [app], bootstrap: { dataDir: join(dir, 'data'), standardDirectories: false }, logging: createLogger({ level: 'warn', destination: stream }) }).bootstrap({ cwd: dir, env: {} })
    const warning = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => String(r.msg).startsWith('database "app" cannot be checked now'))
    expect(warning).toMatchObject({ database: 'app', code: 'PLINTH_ERR_DB_CONNECT_FAILED', hint: expect.stringContaining('SKIP_DB_INIT') })
    expect(warning?.msg).toMatch(/^database "app" cannot be checked now, so it is not created: PLINTH_ERR_DB_CONNECT_FAILED: could not connect to the database at .*ECONNREFUSED 127\.0\.0\.1:1; the app starts without it$/)
    // An expected unavailability is not a bug: no error object, so no stack (pino-pretty would print it over 30 lines).
    expect(warning).not.toHaveProperty('err')
    expect(lines.join('\n')).not.toMatch(/stack|plinth-error\.js|\bpw@/)
  })

  describe.skipIf(!postgres.available)(postgres.title('on PostgreSQL'), () => {
    it('creates a declared database with CREATE DATABASE and its tables, and finds it the next time', async () => {
      const dir = tempDir()
      writeFileSync(join(dir, 'schema.pg.sql'), schema.replace('value real', 'value double precision'))
      const name = uniqueName('plinth_bootstrap')
      const requirement = { name, options: { url: urlOf('test'), schema: { postgres: 'schema.pg.sql', sqlite: 'unused.sql' } } }
      const context: DatabaseBootstrapContext = { dataDir: join(dir, 'data'), module: 'telemetry', baseDir: dir, config: undefined, env: {}, signal: new AbortController().signal, log: pino({ level: 'silent' }) }
      try {
        expect(await sqlDatabaseDriver.exists(requirement, context)).toBe(false)
        expect(await sqlDatabaseDriver.create(requirement, context)).toBe(`created PostgreSQL database "${name}" with its tables at ${urlOf(name).replace('s3cret-pw', '***')}`)
        expect(await sqlDatabaseDriver.exists(requirement, context)).toBe(true)
        const found = await query<{ name: string }>(name, `select tablename as name from pg_tables where schemaname = 'public' order by 1`)
        expect(found.map((r) => r.name)).toEqual(['devices', 'readings'])
        // Another instance that raced to create it finds it there rather than failing.
        expect(await sqlDatabaseDriver.create(requirement, context)).toMatch(/^found PostgreSQL database/)
      } finally {
        await dropDatabase(name)
      }
    })
  })
})
