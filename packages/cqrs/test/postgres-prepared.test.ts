/**
 * The PostgreSQL append is a named statement, prepared once per connection: a connection that
 * has appended holds it, and later appends through it, right or wrong, behave as the first.
 */
import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SqlEventStore, eventStoreMigrations } from '../src/index.js'
import { postgres, postgresUrl } from './harness.js'

describe.skipIf(!postgres.available)(postgres.title('PostgreSQL: appends as prepared statements'), () => {
  const schema = `plinth_prepared_${randomBytes(4).toString('hex')}`
  let db: Kysely<any>
  let store: SqlEventStore
  beforeAll(async () => {
    // One connection, so the statements it holds are the ones the appends prepared.
    db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: postgresUrl, max: 1, options: `-c search_path=${schema}` }) }) })
    await sql.raw(`create schema ${schema}`).execute(db)
    for (const migration of Object.values(eventStoreMigrations)) await migration.up(db)
    store = new SqlEventStore(db, { dialect: 'postgres' })
  })
  afterAll(async () => {
    await sql.raw(`drop schema if exists ${schema} cascade`).execute(db)
    await db.destroy()
  })

  it('prepares an append once per shape and keeps versions and conflicts right on reuse', async () => {
    const event = { type: 'device.renamed', data: { name: 'kitchen' } }
    await store.append('device-1', [event], { expectedVersion: 'no-stream' })
    await store.append('device-2', [event], { expectedVersion: 0 })
    expect(await store.append('device-1', [event, event], { expectedVersion: 1 })).toMatchObject({ version: 3 })
    expect(await store.append('device-1', [event, event], { expectedVersion: 3 })).toMatchObject({ version: 5 })
    await expect(store.append('device-1', [event, event], { expectedVersion: 3 })).rejects.toMatchObject({ code: 'PLINTH_ERR_EVENTS_CONFLICT' })
    await expect(store.append('device-2', [event], { expectedVersion: 0 })).rejects.toMatchObject({ code: 'PLINTH_ERR_EVENTS_CONFLICT' })
    const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db)
    expect(rows.map((row) => row.name)).toEqual(['plinth_append_1_at_c', 'plinth_append_2_at_n'])
    expect((await store.readStream('device-1')).map((e) => e.version)).toEqual([1, 2, 3, 4, 5])
  })

  it('does not prepare an append of more events than the named shapes cover', async () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ type: 'reading.taken', data: { i } }))
    expect(await store.append('device-3', many, { expectedVersion: 'no-stream' })).toMatchObject({ version: 40 })
    const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements where name like 'plinth_append_40%'`.execute(db)
    expect(rows).toEqual([])
  })
})
