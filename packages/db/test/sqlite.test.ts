import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { createApp, isPlinthError } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { Database, database } from '../src/index.js'
import { describeConformance } from './database.case.js'

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-db-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('on SQLite', () => {
  describeConformance({
    dialect: 'sqlite',
    fresh: () => Promise.resolve({ url: `sqlite:${join(tempDir(), 'app.sqlite')}`, cleanup: () => Promise.resolve() }),
    query: <R>(url: string, text: string) => {
      const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
      try {
        return Promise.resolve(db.prepare(text).all() as R[])
      } finally {
        db.close()
      }
    },
    sleep: () => 'select 1',
  })

  it('keeps the file in the data directory by default, created on first use', async () => {
    const dir = tempDir()
    await using t = await startTestApp(createApp({ name: 'defaults', components: [database({ dataDir: join(dir, 'data') })], logging: { level: 'silent' } }))
    expect(t.get(Database).url).toBe(`sqlite:${join(dir, 'data', 'app.sqlite')}`)
    await sql`create table t (x integer)`.execute(t.get(Database).kysely)
    const file = new BetterSqlite3(join(dir, 'data', 'app.sqlite'), { readonly: true })
    expect(file.prepare(`select name from sqlite_master`).all()).toEqual([{ name: 't' }])
    file.close()
  })

  it('reads DATABASE_URL and SKIP_DB_INIT from the environment start() was given, not the machine', async () => {
    const file = join(tempDir(), 'from-env.sqlite')
    await using t = await startTestApp(createApp({ name: 'env', components: [database()], logging: { level: 'silent' } }), { env: { DATABASE_URL: `sqlite:${file}`, SKIP_DB_INIT: 'true' } })
    expect(t.get(Database)).toMatchObject({ url: `sqlite:${file}`, optional: true })
  })

  it('fails start-up clearly when the file cannot be opened', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'data'), 'a file where the data directory should be')
    const app = createApp({ name: 'blocked', components: [database({ dataDir: join(dir, 'data'), connectTimeout: 500 })], logging: { level: 'silent' } })
    const error = await app.start().catch((e: unknown) => e)
    expect(isPlinthError(error, 'PLINTH_ERR_BOOT_FAILED')).toBe(true)
    expect(isPlinthError((error as Error).cause, 'PLINTH_ERR_DB_CONNECT_FAILED')).toBe(true)
    expect((error as Error).message).toContain(`could not open the SQLite database sqlite:${join(dir, 'data', 'app.sqlite')}`)
  })

  it('starts without an optional database, degraded with the reason, and uses it once it can be opened', async () => {
    const dir = tempDir()
    const blocker = join(dir, 'data')
    writeFileSync(blocker, 'a file where the data directory should be')
    const began = performance.now()
    await using t = await startTestApp(createApp({ name: 'optional', components: [database({ dataDir: blocker, optional: true })], logging: { level: 'silent' } }))
    expect(performance.now() - began).toBeLessThan(1_000)
    const db = t.get(Database)
    expect(await db.health()).toMatchObject({ status: 'degraded', details: { reason: expect.stringMatching(/running without its database/) } })
    const failed = await sql`select 1`.execute(db.kysely).catch((e: unknown) => e)
    expect(isPlinthError(failed)).toBe(true)

    rmSync(blocker)
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db.kysely)
    expect(rows).toEqual([{ one: 1 }])
    expect(await db.health()).toMatchObject({ status: 'up' })
  })
})
