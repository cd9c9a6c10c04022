import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp, provide, runCommand } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Database, database, defineMigrations } from '@plinth/db'
import { EventStore, Projections, eventStore, projection } from '../src/index.js'

const totals = projection({
  name: 'totals',
  types: ['paid'],
  handle: async (event, db) => {
    await db.insertInto('totals').values({ id: 1, sum: event.data as number }).onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ sum: eb('totals.sum', '+', event.data as number) }))).execute()
  },
  reset: async (db) => void (await db.deleteFrom('totals').execute()),
})
const schema = defineMigrations('totals', { '001': { up: (db) => db.schema.createTable('totals').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('sum', 'integer').execute() } })
const build = () => createApp({ name: 'payments', logging: { level: 'silent' }, components: [database(), ...eventStore(), schema, provide(Projections, { value: totals })] })

const dataDir = mkdtempSync(join(tmpdir(), 'plinth-projections-cli-'))
const previous = process.env.DATA_DIR
process.env.DATA_DIR = dataDir
afterAll(() => {
  if (previous === undefined) delete process.env.DATA_DIR
  else process.env.DATA_DIR = previous
  rmSync(dataDir, { recursive: true, force: true })
})

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCommand(build(), argv, { out: (t) => out.push(t), err: (t) => err.push(t) })
  return { code, out, err }
}

describe('plinth projections', () => {
  it('shows where each projection stands and rebuilds one from the first event to the same read model', async () => {
    const t = await startTestApp(build(), { env: { DATA_DIR: dataDir } })
    const store = await t.resolve(EventStore)
    await store.append('order-1', [{ type: 'paid', data: 30 }, { type: 'paid', data: 12 }])
    const db = await t.resolve(Database)
    await expect.poll(() => db.kysely.selectFrom('totals').select('sum').execute(), { timeout: 5_000 }).toEqual([{ sum: 42 }])
    await t.stop()

    expect(await run(['projections', 'status'])).toEqual({ code: 0, out: ['totals: at 2 of 2 (caught up)'], err: [] })
    const rebuilt = await run(['projections', 'rebuild', 'totals'])
    expect(rebuilt.code).toBe(0)
    expect(rebuilt.out[0]).toBe('totals: read model emptied, checkpoint at 0; replaying 2 events')
    expect(rebuilt.out[1]).toMatch(/^totals: rebuilt to position 2 in \d+ ms$/)

    const again = await startTestApp(build(), { env: { DATA_DIR: dataDir } })
    expect(await (await again.resolve(Database)).kysely.selectFrom('totals').select('sum').execute()).toEqual([{ sum: 42 }])
    await again.stop()
  })

  it('names the projections there are when asked for one that is not, and says how to use the command', async () => {
    const unknown = await run(['projections', 'rebuild', 'totls'])
    expect(unknown.code).toBe(1)
    expect(unknown.err.join('\n')).toMatch(/PLINTH_ERR_EVENTS_UNKNOWN_PROJECTION: no projection named "totls"; declared: totals/)
    const usage = await run(['projections'])
    expect(usage.code).toBe(2)
    expect(usage.err.join('\n')).toMatch(/usage: plinth projections status \| rebuild NAME/)
  })
})
