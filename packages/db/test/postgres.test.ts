import { Writable } from 'node:stream'
import { createApp, Health, isPlinthError, type PlinthError } from '@plinth/core'
import { TcpProxy, startTestApp } from '@plinth/core/testing'
import { sql } from 'kysely'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Database, database, defineMigrations } from '../src/index.js'
import { describeConformance } from './database.case.js'
import { startPasswordServer } from './helpers/password-server.js'
import { createDatabase, createRole, postgres, query, uniqueName, urlOf } from './helpers/postgres.js'

const PASSWORD = 's3cret-pw'

/** A logger whose lines the test can read, to check that no password is ever logged. */
function capturedLogger() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), text: () => lines.join('') }
}

async function startFailure(url: string, options: { connectTimeout?: number } = {}) {
  const log = capturedLogger()
  const app = createApp({ name: 'wrong', components: [database({ url, connectTimeout: options.connectTimeout ?? 2_000, retry: { initialDelay: 50 } })], logging: log.logger })
  const began = performance.now()
  const error = (await app.start().then(
    () => undefined,
    (e: unknown) => e,
  )) as PlinthError
  return { error, cause: error.cause as PlinthError, elapsed: performance.now() - began, logs: log.text() }
}

describe.skipIf(!postgres.available)(postgres.title('on PostgreSQL'), () => {
  describeConformance({
    dialect: 'postgres',
    fresh: async () => {
      const db = await createDatabase()
      return { url: db.url, cleanup: db.drop }
    },
    query: <R>(url: string, text: string) => query(new URL(url).pathname.slice(1), text) as Promise<R[]>,
    sleep: (seconds) => `select pg_sleep(${seconds})`,
  })

  describe('wrong settings, clear errors, no password', () => {
    it('rejects a URL it cannot use, without printing its password', async () => {
      for (const url of [`mysql://app:${PASSWORD}@127.0.0.1/app`, `postgres://app:${PASSWORD}@127.0.0.1:99999/app`, `postgres://app:${PASSWORD}@127.0.0.1:5432/`]) {
        const { error, cause, logs } = await startFailure(url)
        expect(isPlinthError(cause, 'PLINTH_ERR_DB_INVALID_URL'), String(error)).toBe(true)
        expect(cause.message).toContain('app:***@127.0.0.1')
        for (const text of [error.describe(), logs, JSON.stringify(cause.details)]) expect(text).not.toContain(PASSWORD)
      }
    })

    it('says the password was refused, at once, without printing it', async () => {
      const server = await startPasswordServer()
      try {
        const { error, cause, elapsed, logs } = await startFailure(`postgres://app:${PASSWORD}@127.0.0.1:${server.port}/app`)
        expect(server.received).toEqual([PASSWORD])
        expect(isPlinthError(cause, 'PLINTH_ERR_DB_AUTH_FAILED'), error.describe()).toBe(true)
        expect(cause.message).toBe(`the database at postgres://app:***@127.0.0.1:${server.port}/app refused the credentials: password authentication failed for user "app" (28P01)`)
        expect(elapsed).toBeLessThan(1_500)
        for (const text of [error.describe(), logs]) expect(text).not.toContain(PASSWORD)
      } finally {
        await server.close()
      }
    })

    it('says which user is unknown and which database does not exist', async () => {
      const role = await startFailure(urlOf('test').replace('postgres:', 'nobody_here:').replace(/^nobody_here:\/\/postgres/, 'postgres://nobody_here'))
      expect(isPlinthError(role.cause, 'PLINTH_ERR_DB_AUTH_FAILED'), role.error.describe()).toBe(true)
      expect(role.cause.message).toMatch(/role "nobody_here" does not exist/)
      const missing = await startFailure(urlOf(uniqueName('missing')))
      expect(isPlinthError(missing.cause, 'PLINTH_ERR_DB_NOT_FOUND'), missing.error.describe()).toBe(true)
      expect(missing.cause.message).toMatch(/database "missing_.*" does not exist/)
      expect(missing.cause.hint).toMatch(/bootstrap\.databases/)
      for (const text of [role.error.describe(), missing.error.describe(), role.logs, missing.logs]) expect(text).not.toContain(PASSWORD)
    })

    it('retries an unreachable server with backoff until connectTimeout, then names it without the password', async () => {
      const closed = await TcpProxy.create({ host: '127.0.0.1', port: 5432 }, false)
      const { error, cause, elapsed, logs } = await startFailure(`postgres://app:${PASSWORD}@127.0.0.1:${closed.port}/app`, { connectTimeout: 1_000 })
      expect(isPlinthError(cause, 'PLINTH_ERR_DB_CONNECT_FAILED'), error.describe()).toBe(true)
      expect(cause.message).toMatch(new RegExp(`could not connect to the database at postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${closed.port}/app after \\d+ attempts in \\d+ ms: .*ECONNREFUSED`))
      expect(cause.details.attempts).toBeGreaterThan(2)
      expect(elapsed).toBeGreaterThanOrEqual(1_000)
      expect(elapsed).toBeLessThan(3_000)
      expect(logs).toMatch(/database not reachable yet; retrying in \d+ ms/)
      for (const text of [error.describe(), logs]) expect(text).not.toContain(PASSWORD)
    })
  })

  describe('a database that goes away and comes back', () => {
    let proxy: TcpProxy
    let db: { name: string; url: string; drop: () => Promise<void> }
    const viaProxy = () => `postgres://postgres:${PASSWORD}@127.0.0.1:${proxy.port}/${db.name}`
    beforeAll(async () => {
      db = await createDatabase('plinth_outage')
    })
    afterAll(async () => {
      await db.drop()
    })
    afterEach(async () => {
      await proxy.close()
    })

    it('starts without an optional database in well under a second, degraded with why, and uses it once it is back', async () => {
      proxy = await TcpProxy.create({ host: '127.0.0.1', port: 5432 }, false)
      const log = capturedLogger()
      const app = createApp({
        name: 'skip-db-init',
        components: [database({ url: viaProxy(), optional: true, migrate: true }), defineMigrations('notes', { '001': { up: (k) => k.schema.createTable('notes').addColumn('id', 'integer').execute() } })],
        logging: log.logger,
      })
      const began = performance.now()
      await using t = await startTestApp(app)
      expect(performance.now() - began).toBeLessThan(1_000)
      expect(app.state).toBe('degraded') // ready, and the ready event names the database as degraded

      const health = await t.resolve(Health)
      health.start()
      await health.checkNow('database')
      expect(health.readiness()).toEqual({ ok: true, status: 'degraded', reasons: [expect.stringMatching(/^database is degraded: PLINTH_ERR_DB_UNAVAILABLE: database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+ is unavailable: .*ECONNREFUSED/)] })
      const check = health.report().checks.find((c) => c.name === 'database')
      expect(check).toMatchObject({ status: 'degraded', details: { reason: expect.stringMatching(/running without its database: .*ECONNREFUSED/) } })

      const kysely = t.get(Database).kysely
      const failed = (await sql`select 1`.execute(kysely).catch((e: unknown) => e)) as PlinthError
      expect(isPlinthError(failed, 'PLINTH_ERR_DB_UNAVAILABLE'), String(failed)).toBe(true)
      expect(failed.message).toContain(`postgres://postgres:***@127.0.0.1:${proxy.port}/`)

      await proxy.open()
      // The first query after the database comes back connects, migrates, and is served.
      expect((await sql<{ n: number }>`select count(*)::int as n from notes`.execute(kysely)).rows).toEqual([{ n: 0 }])
      await health.checkNow('database')
      expect(health.readiness()).toEqual({ ok: true, status: 'up' })
      health.stop()
      expect(log.text()).not.toContain(PASSWORD)
    })

    it('fails queries while the server is gone and serves them again when it returns, without a restart', async () => {
      proxy = await TcpProxy.create({ host: '127.0.0.1', port: 5432 })
      await using t = await startTestApp(createApp({ name: 'outage', components: [database({ url: viaProxy(), pool: { max: 3, min: 2 } })], logging: { level: 'silent' } }))
      const db = t.get(Database)
      const ask = () => sql<{ one: number }>`select 1 as one`.execute(db.kysely)
      expect((await ask()).rows).toEqual([{ one: 1 }])

      // A query in flight when the server goes: it fails clearly, and the process survives the
      // 'error' pg raises on the connection (unhandled, it would crash the service).
      const inFlight = sql`select pg_sleep(5)`.execute(db.kysely).catch((e: unknown) => e)
      await new Promise((resolve) => setTimeout(resolve, 100))
      await proxy.close()
      const lost = (await inFlight) as Error
      expect(isPlinthError(lost, 'PLINTH_ERR_DB_UNAVAILABLE'), String(lost)).toBe(true)
      expect(lost.message).toMatch(/unavailable: Connection terminated unexpectedly/)
      const failed = (await ask().catch((e: unknown) => e)) as Error
      expect(isPlinthError(failed, 'PLINTH_ERR_DB_UNAVAILABLE'), String(failed)).toBe(true)
      await expect(db.health()).rejects.toThrow(/unavailable/)

      await proxy.open()
      expect((await ask()).rows).toEqual([{ one: 1 }])
      expect(await db.health()).toMatchObject({ status: 'up' })
    })
  })

  it('connects with its pool settings and names the service in pg_stat_activity', async () => {
    const db = await createDatabase()
    try {
      await using t = await startTestApp(createApp({ name: 'pool-settings', components: [database({ url: db.url, pool: { max: 4, min: 0 } })], logging: { level: 'silent' } }))
      await Promise.all(Array.from({ length: 8 }, () => sql`select pg_sleep(0.05)`.execute(t.get(Database).kysely)))
      const rows = await query<{ n: number }>(undefined, `select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'pool-settings'`, [db.name])
      expect(rows[0]?.n).toBe(4)
    } finally {
      await db.drop()
    }
  })

  it('refuses to create a database the user may not create, saying what to do', async () => {
    const { sqlDatabaseDriver } = await import('../src/index.js')
    const role = uniqueName('plinth_nocreatedb')
    const dropRole = await createRole(role)
    try {
      const target = uniqueName('plinth_denied')
      const url = urlOf('test').replace('postgres:s3cret-pw@', `${role}:${PASSWORD}@`)
      const context = { dataDir: '/nonexistent', module: 'telemetry', baseDir: '/nonexistent', config: undefined, env: {}, signal: new AbortController().signal, log: pino({ level: 'silent' }) }
      const requirement = { name: target, options: { url } }
      expect(await sqlDatabaseDriver.exists(requirement, context)).toBe(false)
      const error = (await Promise.resolve(sqlDatabaseDriver.create(requirement, context)).catch((e: unknown) => e)) as PlinthError
      expect(isPlinthError(error, 'PLINTH_ERR_DB_CREATE_FAILED'), String(error)).toBe(true)
      expect(error.message).toContain(`cannot create database "${target}" (declared by module "telemetry")`)
      expect(error.message).toContain(`user "${role}" may not create databases; have an administrator run CREATE DATABASE "${target}" OWNER "${role}"`)
      expect(error.describe()).not.toContain(PASSWORD)
    } finally {
      await dropRole()
    }
  })
})
