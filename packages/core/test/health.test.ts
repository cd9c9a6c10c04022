import { describe, expect, it, vi } from 'vitest'
import { EventSpy, component, createApp, Health, HealthChecks, provide, type AnyProvider, type HealthCheck, type HealthRegistry } from '../src/index.js'
import type { HealthOptions } from '../src/health/health.js'
import { startTestApp } from '../src/testing.js'

const silent = { level: 'silent' } as const

/** An eager component that needs the registry, as a server would. */
const probes = component('probes', { eager: true, deps: { health: Health }, create: ({ health }) => health })

function check(name: string, run: HealthCheck['check'], extra: Partial<HealthCheck> = {}) {
  return provide(HealthChecks, { value: { name, check: run, ...extra } })
}

async function boot(components: AnyProvider[], health: HealthOptions = {}) {
  const t = await startTestApp(createApp({ name: 'health', components: [probes, ...components], logging: silent, health }))
  const registry: HealthRegistry = t.get(probes)
  return { t, health: registry }
}

function clock() {
  let now = Date.parse('2025-01-01T00:00:00Z')
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

describe('the health registry', () => {
  it('is fed by components\' health hooks and HealthChecks contributions, and is ready once every critical check is up', async () => {
    const db = component('db', { eager: true, create: () => ({ ok: true }), health: (self) => (self.ok ? 'up' : 'down') })
    const { t, health } = await boot([db, check('queue', () => undefined)])
    await using _ = t
    await health.checkNow()
    expect(health.names()).toEqual(['db', 'queue'])
    expect(health.readiness()).toEqual({ ok: true, status: 'up' })
    expect(health.report().checks.map((c) => [c.name, c.source, c.critical, c.status])).toEqual([
      ['db', 'component', true, 'up'],
      ['queue', 'check', true, 'up'],
    ])
  })

  it('runs every check in the background on its interval from ready, and stops at shutdown', async () => {
    let calls = 0
    const { t } = await boot([check('ticker', () => void calls++, { interval: 5 })])
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(3))
    await t.stop()
    const atStop = calls
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(calls).toBe(atStop)
  })

  it('answers probes from the cache while a check hangs', async () => {
    let calls = 0
    const hang = check('hangs', () => {
      calls++
      return new Promise<never>(() => {})
    }, { timeout: 60_000 })
    const { t, health } = await boot([hang, check('fine', () => 'up')])
    await using _ = t
    await health.checkNow('fine')
    // The hanging run is still in flight; the probes answer anyway, from what is known.
    expect(calls).toBe(1)
    expect(health.report().checks.find((c) => c.name === 'hangs')?.pendingFor).toBeGreaterThanOrEqual(0)
    expect(health.readiness()).toEqual({ ok: false, status: 'down', reasons: ['hangs is unknown'] })
    expect(health.liveness().ok).toBe(true)
    expect(health.startup().ok).toBe(true)
  })

  it('counts a check past its timeout as down, with the deadline named, and aborts its signal', async () => {
    let aborted: unknown
    const slow = check('slow', ({ signal }) => new Promise<never>(() => signal.addEventListener('abort', () => (aborted = signal.reason))), { timeout: 20 })
    const { t, health } = await boot([slow])
    await using _ = t
    await health.checkNow()
    const report = health.report().checks[0]!
    expect(report.status).toBe('down')
    expect(report.lastError?.message).toBe('health check "slow" did not answer within 20 ms')
    expect(aborted).toMatchObject({ code: 'PLINTH_ERR_HEALTH_CHECK_TIMEOUT' })
  })

  it('treats a result older than its staleness limit as unknown, never as a stale up', async () => {
    const time = clock()
    const { t, health } = await boot([check('db', () => 'up', { interval: 60_000, staleAfter: 5_000 })], { now: time.now })
    await using _ = t
    await health.checkNow()
    expect(health.readiness().ok).toBe(true)
    time.advance(5_001)
    expect(health.report().checks[0]?.status).toBe('unknown')
    expect(health.readiness()).toEqual({ ok: false, status: 'down', reasons: ['db is unknown'] })
  })

  it('keeps the last results with time and duration, newest first', async () => {
    const answered: string[] = []
    const flaky = () => {
      const status = answered.length % 2 === 0 ? 'up' : 'down'
      answered.push(status)
      return status
    }
    const { t, health } = await boot([check('flaky', flaky, { history: 3, breaker: false })])
    await using _ = t
    for (let i = 0; i < 5; i++) await health.checkNow()
    const { history } = health.report().checks[0]!
    // The boot-time run may or may not have been joined by the first checkNow: compare with what the check answered.
    expect(answered.length).toBeGreaterThanOrEqual(5)
    expect(history.map((r) => r.status)).toEqual(answered.slice(-3).reverse())
    for (const result of history) {
      expect(result.duration).toBeGreaterThanOrEqual(0)
      expect(result.at).toBeGreaterThan(0)
    }
    expect(history[0]!.at).toBeGreaterThanOrEqual(history[2]!.at)
  })

  it('opens the breaker after repeated failures, stops calling the dependency, and recovers by itself when it returns', async () => {
    const time = clock()
    let up = false
    let calls = 0
    const db = check('db', () => {
      calls++
      if (!up) throw new Error('ECONNREFUSED 127.0.0.1:5432')
    }, { breaker: { failureThreshold: 2, resetTimeout: 30_000 } })
    const { t, health } = await boot([db], { now: time.now })
    await using _ = t
    while (health.report().checks[0]?.breaker?.state !== 'open') await health.checkNow()
    expect(calls).toBe(2)
    await health.checkNow()
    expect(calls).toBe(2) // open: not called
    const report = health.report().checks[0]!
    expect(report.status).toBe('down')
    expect(report.history[0]?.error).toMatch(/circuit open; not checked until .*\(last error: ECONNREFUSED 127.0.0.1:5432\)/)
    expect(health.readiness().reasons).toEqual(['db is down'])

    up = true
    time.advance(30_000)
    expect(health.report().checks[0]?.breaker?.state).toBe('half-open')
    await health.checkNow()
    expect(calls).toBe(3) // the one trial
    expect(health.report().checks[0]?.breaker?.state).toBe('closed')
    expect(health.readiness()).toEqual({ ok: true, status: 'up' })
    expect(health.breaker('db')).toBeDefined()
  })

  it('stays ready, degraded, when a non-critical check is down or an optional component failed to start', async () => {
    const cache = component('cache', { optional: true, eager: true, create: () => ({}), start: () => { throw new Error('redis unreachable') } })
    const { t, health } = await boot([cache, check('search', () => 'down', { critical: false }), check('db', () => 'up')])
    await using _ = t
    await health.checkNow()
    // Ready, and says which checks are not up and why, a line each.
    expect(health.readiness()).toEqual({
      ok: true,
      status: 'degraded',
      reasons: [expect.stringMatching(/^cache is down: failed to start: PLINTH_ERR_START_FAILED: .*redis unreachable/), 'search is down'],
    })
    const cacheReport = health.report().checks.find((c) => c.name === 'cache')
    expect(cacheReport).toMatchObject({ critical: false, status: 'down' })
    expect(cacheReport?.lastError?.message).toContain('failed to start: PLINTH_ERR_START_FAILED')
    expect(cacheReport?.lastError?.message).toContain('redis unreachable')
  })

  it('counts a critical check that reports degraded as ready, degraded', async () => {
    const { t, health } = await boot([check('db', () => ({ status: 'degraded', details: { replicas: 1 } }))])
    await using _ = t
    await health.checkNow()
    expect(health.readiness()).toEqual({ ok: true, status: 'degraded', reasons: ['db is degraded'] })
    expect(health.report().checks[0]?.details).toEqual({ replicas: 1 })
  })

  it('is not ready from the first moment of shutdown', async () => {
    const { t, health } = await boot([check('db', () => 'up')])
    await health.checkNow()
    expect(health.readiness().ok).toBe(true)
    const stopping = t.stop()
    expect(health.readiness()).toEqual({ ok: false, status: 'down', reasons: ['shutting down'] })
    await stopping
  })

  it('reports startup only once boot has finished', async () => {
    const seenDuringBoot: boolean[] = []
    const late = component('late', { eager: true, deps: { health: Health }, create: ({ health }) => health, start: (health) => void seenDuringBoot.push(health.startup().ok, health.readiness().ok) })
    const { t, health } = await boot([late])
    await using _ = t
    expect(seenDuringBoot).toEqual([false, false])
    expect(health.startup()).toEqual({ ok: true, status: 'up' })
  })

  it('fails start-up when two checks share a name, naming both', async () => {
    const db = component('db', { eager: true, create: () => ({}), health: () => 'up' })
    await expect(boot([db, check('db', () => 'up')])).rejects.toThrow(/two health checks are named "db": component "db" \(.*health\.test\.ts:\d+\) and a HealthChecks contribution/)
  })

  it('says liveness is down while the event loop is blocked', async () => {
    const { t, health } = await boot([], { maxEventLoopDelay: 100, eventLoop: { sampleInterval: 20 } })
    await using _ = t
    expect(health.liveness().ok).toBe(true)
    const until = performance.now() + 300
    while (performance.now() < until) {
      // Block the loop, as a runaway synchronous computation would.
    }
    const live = health.liveness()
    expect(live.ok).toBe(false)
    expect(live.reasons?.[0]).toMatch(/^event loop blocked for \d+ ms \(limit 100 ms\)$/)
  })
})

describe('a component whose start says it runs degraded', () => {
  it('is named degraded, with its reason, by the ready event, and its health check runs and recovers', async () => {
    let reachable = false
    const store = component('store', {
      eager: true,
      create: () => ({}),
      start: (_store, { degraded }) => degraded(new Error('connect ECONNREFUSED 127.0.0.1:1')),
      health: () => (reachable ? 'up' : { status: 'degraded', error: 'connect ECONNREFUSED 127.0.0.1:1' }),
    })
    const spy = new EventSpy()
    const app = createApp({ name: 'degraded-start', components: [probes, store], logging: silent })
    app.events.subscribe(spy.listener)
    const t = await startTestApp(app)
    await using _ = t
    expect(app.state).toBe('degraded')
    expect(spy.of('ready')[0]?.degraded).toEqual(['store'])
    expect(spy.of('component-degraded').map((e) => [e.component, e.reason])).toEqual([['store', 'connect ECONNREFUSED 127.0.0.1:1']])
    const health: HealthRegistry = t.get(probes)
    await health.checkNow('store')
    expect(health.report().checks.find((c) => c.name === 'store')?.status).toBe('degraded')
    reachable = true
    await health.checkNow('store')
    expect(health.readiness()).toEqual({ ok: true, status: 'up' })
  })
})
