/**
 * One health model for an optional database, whether it refuses connections (TcpProxy closed) or
 * accepts them and never answers (TcpProxy black hole): readiness stays 200 "degraded" in both,
 * the check's circuit opens after three consecutive failures within seconds, each failure is
 * counted in app_health_check_failures_total, and readiness is "up" again within about a second
 * of the database coming back.
 */
import { Health } from '@plinth/core'
import { TcpProxy } from '@plinth/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, databaseUrl, postgres } from './postgres.js'
import { sample, startService } from './service.js'

interface Check {
  name: string
  status: string
  breaker?: { state: string; failures: number }
}

describe.skipIf(!postgres.available)(postgres.title('an optional database that fails'), () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  beforeAll(async () => {
    database = await createDatabase()
  })
  afterAll(() => database?.drop())

  it.each([
    { fault: 'refuses connections', fail: (proxy: TcpProxy) => proxy.close(), heal: (proxy: TcpProxy) => proxy.open() },
    { fault: 'black-holes', fail: (proxy: TcpProxy) => Promise.resolve(proxy.blackhole()), heal: (proxy: TcpProxy) => Promise.resolve(proxy.restore()) },
  ])('when it $fault: ready stays 200 degraded, the circuit opens within seconds, failures are counted, and readiness recovers within about a second', async ({ fail, heal, fault }) => {
    const proxy = await TcpProxy.create({ host: '127.0.0.1', port: Number(new URL(database.url).port || 5432) })
    await using service = await startService({ DATABASE_URL: databaseUrl(database.name, proxy.port), DATABASE_MIGRATE: 'true' })
    const health = await service.t.resolve(Health)
    const check = async () => ((await service.rest('GET', '/health')).body.checks as Check[]).find((c) => c.name === 'database')!
    const ready = async () => {
      const res = await service.rest('GET', '/health/ready')
      return { code: res.status, status: (res.body as { status: string }).status }
    }
    await health.checkNow()
    expect(await ready(), JSON.stringify((await service.rest('GET', '/health')).body)).toEqual({ code: 200, status: 'up' })

    await fail(proxy)
    const failedAt = performance.now()
    // The first run after the fault, without waiting out the 10 s interval of a healthy check;
    // from then on the check runs every second while it fails.
    await health.checkNow('database')
    const readiness = new Set<string>()
    let openedAt: number | undefined
    while (performance.now() - failedAt < 10_000) {
      const { code, status } = await ready()
      readiness.add(`${code} ${status}`)
      if ((await check()).breaker?.state === 'open') {
        openedAt = performance.now()
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const failures = sample(await service.metrics(), 'app_health_check_failures_total{service="database"}') ?? 0
    expect(openedAt, 'the circuit never opened').toBeDefined()
    expect([...readiness]).toEqual(['200 degraded'])
    expect(await ready()).toEqual({ code: 200, status: 'degraded' })
    expect(failures).toBeGreaterThanOrEqual(3)

    await heal(proxy)
    const healedAt = performance.now()
    while ((await ready()).status !== 'up' && performance.now() - healedAt < 10_000) await new Promise((resolve) => setTimeout(resolve, 50))
    const recovery = performance.now() - healedAt
    console.log(`optional database ${fault}: circuit open ${Math.round(openedAt! - failedAt)} ms after the fault, ${failures} failures counted, readiness up ${Math.round(recovery)} ms after it came back`)
    expect(await ready()).toEqual({ code: 200, status: 'up' })
    expect(recovery).toBeLessThan(2_500)
    await proxy.close()
  }, 40_000)
})
