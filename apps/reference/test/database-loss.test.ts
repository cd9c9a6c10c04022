/**
 * PostgreSQL lost under write load (the TcpProxy cuts it) and PostgreSQL that stops answering
 * (the proxy turned into a black hole): the REST API answers 503 problems with Retry-After, never
 * 500, and no request waits longer than its budget (the query deadline); once the database is
 * back, readiness and the API recover. The figures (answers by status, recovery times) are printed.
 */
import { TcpProxy } from '@plinth/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, databaseUrl, postgres } from './postgres.js'
import { startService, unique, type Service } from './service.js'

/** Milliseconds from now until `probe` holds, polling every 25 ms, or fails after 30 s. */
async function msUntil(probe: () => Promise<boolean>, what: string): Promise<number> {
  const began = performance.now()
  while (!(await probe())) {
    if (performance.now() - began > 30_000) throw new Error(`${what} did not happen within 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return Math.round(performance.now() - began)
}

/** How long readiness, and then a write, take to succeed again once the database is back. */
async function recovery(service: Service, device: string): Promise<{ readyMs: number; apiMs: number }> {
  const began = performance.now()
  const apiMs = await msUntil(async () => (await service.rest('POST', '/api/v1/telemetry/readings', { device, metric: 'temperature', value: 1 })).status === 200, 'a write succeeding')
  const readyMs = Math.round(performance.now() - began) + (await msUntil(async () => (await service.rest('GET', '/health/ready')).status === 200, 'readiness'))
  return { readyMs, apiMs }
}

function tally(statuses: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1
  return counts
}

describe.skipIf(!postgres.available)(postgres.title('losing PostgreSQL'), () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let target: { host: string; port: number }
  beforeAll(async () => {
    database = await createDatabase()
    target = { host: '127.0.0.1', port: Number(new URL(database.url).port || 5432) }
  })
  afterAll(() => database?.drop())

  it('answers every write cut by a dying database with 503 and Retry-After, never 500, and recovers when it returns', async () => {
    const proxy = await TcpProxy.create(target)
    // Eight writers from one address send more than the reference's 600 requests a minute on a fast
    // machine: the limit is raised, so that the answers are the database's, not the rate limit's.
    await using service = await startService({ DATABASE_URL: databaseUrl(database.name, proxy.port), DATABASE_MIGRATE: 'true', HTTP_RATE_LIMIT: '1000000' })
    const device = unique('thermo')
    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id: device, kind: 'thermometer' })).status).toBe(201)
    const statuses: number[] = []
    const others: unknown[] = []
    const retryAfter = new Set<string | null>()
    let cutAt = Number.POSITIVE_INFINITY
    let batch = 0
    // 8 writers of 20-reading batches, until 1.5 s after the cut: some batches are in flight when it comes.
    const writers = Array.from({ length: 8 }, async () => {
      while (performance.now() < cutAt + 1_500) {
        const n = batch++
        const readings = Array.from({ length: 20 }, (_, i) => ({ device, metric: 'temperature', value: n + i / 100, timestamp: new Date(Date.UTC(2026, 0, 1) + n * 1_000 + i).toISOString() }))
        const res = await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings })
        statuses.push(res.status)
        if (res.status === 503) retryAfter.add(res.headers.get('retry-after'))
        else if (res.status !== 200) others.push(res.body)
      }
    })
    // The cut comes once writes are flowing (16 stored batches), whatever the machine's speed.
    const flowing = performance.now()
    while (statuses.filter((s) => s === 200).length < 16 && performance.now() - flowing < 15_000) await new Promise((resolve) => setTimeout(resolve, 10))
    cutAt = performance.now()
    await proxy.close()
    await Promise.all(writers)
    await proxy.open()
    const recovered = await recovery(service, device)
    console.log('PostgreSQL cut under write load:', JSON.stringify({ answers: statuses.length, byStatus: tally(statuses), ...recovered }))
    expect(statuses.filter((s) => s === 200).length, 'no write succeeded before the cut').toBeGreaterThan(0)
    expect(statuses.filter((s) => s === 503).length, 'no write was cut').toBeGreaterThan(0)
    expect(others).toEqual([])
    expect([...retryAfter]).toEqual(['5'])
  }, 60_000)

  it('answers 503 within the query deadline when the database stops answering, more requests than connections, and recovers when it answers again', async () => {
    const proxy = await TcpProxy.create(target)
    const queryTimeout = 500
    await using service = await startService({ DATABASE_URL: databaseUrl(database.name, proxy.port), DATABASE_MIGRATE: 'true', DATABASE_QUERY_TIMEOUT: String(queryTimeout), DATABASE_POOL_MAX: '4' })
    const device = unique('hole')
    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id: device, kind: 'thermometer' })).status).toBe(201)
    proxy.blackhole()
    // Three times the pool's connections, reads and writes: none may queue behind the hung ones for longer than a deadline.
    const requests = Array.from({ length: 12 }, async (_, i) => {
      const began = performance.now()
      const answer = i % 2 === 0 ? await service.rest('POST', '/api/v1/telemetry/devices', { id: unique('hole'), kind: 'thermometer' }) : await service.rest('GET', '/api/v1/telemetry/devices')
      return { ...answer, ms: Math.round(performance.now() - began) }
    })
    const answers = await Promise.all(requests)
    proxy.restore()
    const recovered = await recovery(service, device)
    const slowest = Math.max(...answers.map((a) => a.ms))
    console.log('PostgreSQL black-holed:', JSON.stringify({ answers: answers.length, byStatus: tally(answers.map((a) => a.status)), slowestMs: slowest, ms: answers.map((a) => a.ms), queryTimeout, ...recovered }))
    for (const answer of answers) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(503)
      expect(answer.headers.get('retry-after')).toBe('5')
      expect(answer.body).toMatchObject({ status: 503, retryAfter: 5 })
    }
    // The budget: the query deadline plus the client's margin (500 ms) and as much again for a loaded machine. A hang is 10 s or more.
    expect(slowest).toBeLessThan(2 * (queryTimeout + 500))
  }, 60_000)
})
