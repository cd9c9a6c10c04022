/**
 * PostgreSQL lost under write load, and PostgreSQL that stops answering (a black hole): every
 * failure a caller sees is PLINTH_ERR_DB_UNAVAILABLE (503 at every edge), and no query waits
 * past its deadline.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { createApp, isPlinthError } from '@plinth/core'
import { TcpProxy, startTestApp } from '@plinth/core/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Database, database } from '../src/index.js'
import { createDatabase, postgres } from './helpers/postgres.js'

/**
 * A forwarder to PostgreSQL that can turn into a black hole: connections stay open and bytes
 * are swallowed both ways, as with a server that hangs or a network that drops packets.
 * (TcpProxy can only refuse and cut connections.)
 */
class BlackHole {
  swallowing = false
  readonly #sockets = new Set<Socket>()
  readonly server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: 5432 })
    this.#sockets.add(client).add(upstream)
    const forward = (from: Socket, to: Socket) => from.on('data', (chunk) => void (this.swallowing || to.write(chunk)))
    forward(client, upstream)
    forward(upstream, client)
    const drop = () => (client.destroy(), upstream.destroy())
    for (const socket of [client, upstream]) socket.on('error', drop).on('close', drop)
  })

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return (this.server.address() as { port: number }).port
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

describe.skipIf(!postgres.available)(postgres.title('losing PostgreSQL'), () => {
  let db: { name: string; url: string; drop: () => Promise<void> }
  beforeAll(async () => {
    db = await createDatabase('plinth_loss')
  })
  afterAll(() => db?.drop())

  it('turns every failure of a write load cut by a dying server into PLINTH_ERR_DB_UNAVAILABLE', async () => {
    const proxy = await TcpProxy.create({ host: '127.0.0.1', port: 5432 })
    const url = new URL(db.url)
    url.port = String(proxy.port)
    await using t = await startTestApp(createApp({ name: 'loss', components: [database({ url: url.toString(), pool: { max: 8 }, attemptTimeout: 500 })], logging: { level: 'silent' } }))
    const kysely = t.get(Database).kysely
    await sql`create table if not exists readings (id serial primary key, value int)`.execute(kysely)
    const write = (value: number) =>
      kysely.transaction().execute(async (trx) => {
        await sql`insert into readings (value) values (${value})`.execute(trx)
        await sql`select pg_sleep(0.002)`.execute(trx)
        await sql`insert into readings (value) values (${value})`.execute(trx)
      })
    const failures: unknown[] = []
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 40; i++) {
        await write(w * 1_000 + i).catch((error: unknown) => failures.push(error))
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    await proxy.close()
    await Promise.all(writers)
    const other = failures.filter((error) => !isPlinthError(error, 'PLINTH_ERR_DB_UNAVAILABLE'))
    expect(failures.length).toBeGreaterThan(0)
    expect(other.map(String)).toEqual([])
  })

  it('fails queries to a server that stopped answering within the query deadline, not never', async () => {
    const hole = new BlackHole()
    const port = await hole.listen()
    const url = new URL(db.url)
    url.port = String(port)
    await using t = await startTestApp(createApp({ name: 'hole', components: [database({ url: url.toString(), queryTimeout: 300, attemptTimeout: 300 })], logging: { level: 'silent' } }))
    const kysely = t.get(Database).kysely
    expect((await sql<{ one: number }>`select 1 as one`.execute(kysely)).rows).toEqual([{ one: 1 }])
    try {
      // Server side: statement_timeout cancels a query that runs too long, with the connection kept.
      const slow = await sql`select pg_sleep(5)`.execute(kysely).catch((error: unknown) => error)
      expect(isPlinthError(slow, 'PLINTH_ERR_DB_UNAVAILABLE'), String(slow)).toBe(true)

      hole.swallowing = true
      // A connection in the pool, then a new one: neither hangs.
      const outcomes = await Promise.all([1, 2, 3].map(() => sql`select 1`.execute(kysely).then(() => 'answered', (error: unknown) => error)))
      for (const outcome of outcomes) expect(isPlinthError(outcome, 'PLINTH_ERR_DB_UNAVAILABLE'), String(outcome)).toBe(true)
      const again = await sql`select 1`.execute(kysely).catch((error: unknown) => error)
      expect(isPlinthError(again, 'PLINTH_ERR_DB_UNAVAILABLE'), String(again)).toBe(true)

      hole.swallowing = false
      expect((await sql<{ one: number }>`select 1 as one`.execute(kysely)).rows).toEqual([{ one: 1 }])
    } finally {
      await hole.close()
    }
  }, 20_000)

  it('fails queries queued behind a server that stopped answering within their deadline, more queries than connections', async () => {
    const proxy = await TcpProxy.create({ host: '127.0.0.1', port: 5432 })
    const url = new URL(db.url)
    url.port = String(proxy.port)
    const queryTimeout = 300
    await using t = await startTestApp(createApp({ name: 'queue', components: [database({ url: url.toString(), pool: { max: 2 }, queryTimeout, attemptTimeout: 1_000 })], logging: { level: 'silent' } }))
    const kysely = t.get(Database).kysely
    await Promise.all([1, 2].map(() => sql`select 1`.execute(kysely)))
    proxy.blackhole()
    try {
      // Eight queries for two connections: without a deadline on the wait for a connection, the
      // last ones would wait for every hung query before them and every new connection that is never accepted.
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const began = performance.now()
          const error = await sql`select 1`.execute(kysely).then(() => 'answered', (e: unknown) => e)
          return { error, ms: performance.now() - began }
        }),
      )
      for (const { error } of outcomes) expect(isPlinthError(error, 'PLINTH_ERR_DB_UNAVAILABLE'), String(error)).toBe(true)
      // The budget: the wait for a connection and the query each within the deadline plus the client's 500 ms margin.
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(2 * (queryTimeout + 500))
    } finally {
      proxy.restore()
      await proxy.close()
    }
  }, 20_000)
})
