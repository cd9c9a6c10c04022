/**
 * PostgreSQL lost under write load (the TcpProxy cuts it) and PostgreSQL that stops answering
 * (a black hole): the REST API answers 503 problems with Retry-After, never 500, and never hangs.
 */
import { createServer, connect, type Socket } from 'node:net'
import { TcpProxy } from '@plinth/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, databaseUrl, postgres } from './postgres.js'
import { startService, unique } from './service.js'

describe.skipIf(!postgres.available)(postgres.title('losing PostgreSQL'), () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  beforeAll(async () => {
    database = await createDatabase()
  })
  afterAll(() => database?.drop())

  it('answers every write cut by a dying database with 503 and Retry-After, never 500', async () => {
    const proxy = await TcpProxy.create({ host: '127.0.0.1', port: Number(new URL(database.url).port || 5432) })
    await using service = await startService({ DATABASE_URL: databaseUrl(database.name, proxy.port), DATABASE_MIGRATE: 'true' })
    const device = unique('thermo')
    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id: device, kind: 'thermometer' })).status).toBe(201)
    const statuses: number[] = []
    const retryAfter = new Set<string | null>()
    const writers = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 30; i++) {
        const readings = Array.from({ length: 20 }, (_, n) => ({ device, metric: 'temperature', value: i + n / 100 }))
        const res = await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings })
        statuses.push(res.status)
        if (res.status === 503) retryAfter.add(res.headers.get('retry-after'))
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 150))
    await proxy.close()
    await Promise.all(writers)
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0)
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([])
    expect([...retryAfter]).toEqual(['5'])
  })

  it('answers 503 within the query deadline when the database stops answering, instead of hanging', async () => {
    let swallowing = false
    const sockets = new Set<Socket>()
    const hole = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: Number(new URL(database.url).port || 5432) })
      sockets.add(client).add(upstream)
      client.on('data', (chunk) => void (swallowing || upstream.write(chunk)))
      upstream.on('data', (chunk) => void (swallowing || client.write(chunk)))
      const drop = () => (client.destroy(), upstream.destroy())
      for (const socket of [client, upstream]) socket.on('error', drop).on('close', drop)
    })
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve))
    try {
      const port = (hole.address() as { port: number }).port
      await using service = await startService({ DATABASE_URL: databaseUrl(database.name, port), DATABASE_MIGRATE: 'true', DATABASE_QUERY_TIMEOUT: '500' })
      expect((await service.rest('GET', '/api/v1/telemetry/devices')).status).toBe(200)
      swallowing = true
      const answers = await Promise.all([1, 2, 3, 4].map(() => service.rest('POST', '/api/v1/telemetry/devices', { id: unique('hole'), kind: 'thermometer' })))
      for (const answer of answers) {
        expect(answer.status).toBe(503)
        expect(answer.headers.get('retry-after')).toBe('5')
        expect(answer.body).toMatchObject({ status: 503, retryAfter: 5 })
      }
      swallowing = false
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => hole.close(() => resolve()))
    }
  }, 20_000)
})
