import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type PreflightReport } from '@plinth/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { database, defineMigrations, type Migration } from '../src/index.js'
import { startPasswordServer } from './helpers/password-server.js'
import { createDatabase, postgres, query, urlOf } from './helpers/postgres.js'

const silent = { level: 'silent' } as const
const row = (report: PreflightReport, category: string, name: string) => report.results.find((r) => r.category === category && r.name === name)

const first: Record<string, Migration> = {
  '001_notes': { up: (db) => db.schema.createTable('notes').addColumn('id', 'integer', (c) => c.primaryKey()).execute() },
}
const second: Record<string, Migration> = {
  ...first,
  '002_tags': { up: (db) => db.schema.createTable('tags').addColumn('id', 'integer', (c) => c.primaryKey()).execute() },
}

function appWith(migrations: Record<string, Migration>, options: Parameters<typeof database>[0] = {}) {
  return createApp({ name: 'notes', logging: silent, components: [database(options), defineMigrations('notes', migrations)] })
}

describe('the database preflight on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-db-preflight-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('connects without migrating, and reports the pending migration as start-up would leave it', async () => {
    const env = { DATA_DIR: dir, APP_ENV: 'production' }
    const report = await appWith(first).preflight({ env, only: ['database', 'performance', 'system'] })
    expect(row(report, 'database', 'connects')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^SQLite 3\.\d+\.\d+ at sqlite:/) })
    expect(row(report, 'database', 'migrations applied')).toMatchObject({ status: 'fail', found: '1 pending: notes/001_notes', fix: expect.stringContaining('plinth migrate up') })
    expect(row(report, 'performance', 'database pool size')).toMatchObject({ status: 'pass' })
    expect(row(report, 'system', 'clock skew vs database')).toMatchObject({ status: 'pass' })
    // With migrations at start, pending ones are a warning: start-up applies them.
    const migrating = await appWith(first).preflight({ env: { ...env, DATABASE_MIGRATE: 'true' }, only: 'database' })
    expect(row(migrating, 'database', 'migrations applied')).toMatchObject({ status: 'warn', found: expect.stringContaining('start-up applies them') })
  })
})

describe.skipIf(!postgres.available)(postgres.title('the database preflight on PostgreSQL'), () => {
  let name: string
  let drop: () => Promise<void>
  const dir = mkdtempSync(join(tmpdir(), 'plinth-db-preflight-'))
  beforeAll(async () => {
    ;({ name, drop } = await createDatabase('preflight'))
  })
  afterAll(async () => {
    await drop()
    rmSync(dir, { recursive: true, force: true })
  })
  const env = () => ({ DATA_DIR: dir, APP_ENV: 'production', DATABASE_URL: urlOf(name) })

  it('passes once every migration is applied: connects, migrations, pool size, clock skew', async () => {
    const app = appWith(first, { migrate: true })
    // Migrated by a development start (no drain delay at its stop).
    await app.start({ env: { ...env(), APP_ENV: 'development' } })
    await app.stop()
    const report = await appWith(first).preflight({ env: env(), only: ['database', 'performance', 'system'] })
    const ours = report.results.filter((r) => r.name !== 'free disk in DATA_DIR' && r.name !== 'memory' && r.name !== 'open-file limit' && r.name !== 'CPU count')
    expect(ours.map((r) => [r.category, r.name, r.status])).toEqual([
      ['database', 'connects', 'pass'],
      ['database', 'migrations applied', 'pass'],
      ['performance', 'database pool size', 'pass'],
      ['system', 'clock skew vs database', 'pass'],
    ])
    expect(row(report, 'database', 'connects')!.found).toMatch(/^PostgreSQL \d+/)
    expect(row(report, 'system', 'clock skew vs database')!.found).toMatch(/^\d+ ms apart/)
  })

  it('a migration declared but not applied, and one applied but no longer declared', async () => {
    const pending = await appWith(second).preflight({ env: env(), only: 'database' })
    expect(row(pending, 'database', 'migrations applied')).toMatchObject({ status: 'fail', found: '1 pending: notes/002_tags' })
    await query(name, `insert into plinth_migrations (module, name, seq, applied_at, duration_ms) values ('billing', '007_invoices', 99, '2026-01-01T00:00:00Z', 1)`)
    const unknown = await appWith(first).preflight({ env: env(), only: 'database' })
    expect(row(unknown, 'database', 'migrations applied')).toMatchObject({ status: 'fail', found: expect.stringContaining('billing/007_invoices'), fix: expect.stringContaining('plinth migrate down') })
    await query(name, `delete from plinth_migrations where module = 'billing'`)
  })

  it('a refused password fails "connects" with the cause and the fix, password masked, within the deadline', async () => {
    const server = await startPasswordServer()
    try {
      const report = await appWith(first).preflight({ env: { ...env(), DATABASE_URL: `postgres://app:wrong-pw@127.0.0.1:${server.port}/app` }, only: 'database' })
      const connects = row(report, 'database', 'connects')!
      expect(connects).toMatchObject({ status: 'fail', found: expect.stringContaining('PLINTH_ERR_DB_AUTH_FAILED') })
      expect(connects.found).toContain('app:***@')
      expect(connects.found).not.toContain('wrong-pw')
      expect(connects.fix).toBeTruthy()
      expect(row(report, 'database', 'migrations applied')).toMatchObject({ status: 'fail' })
    } finally {
      await server.close()
    }
  })

  it('a pool larger than the server allows fails', async () => {
    const limit = (await query<{ max_connections: string }>(name, 'show max_connections'))[0]!.max_connections
    const report = await appWith(first, { pool: { max: Number(limit) + 10 } }).preflight({ env: env(), only: 'performance' })
    expect(row(report, 'performance', 'database pool size')).toMatchObject({ status: 'fail', found: expect.stringContaining(`max_connections ${limit}`) })
  })
})
