import { component, defineConfig, Health, HealthChecks, provide, type HealthCheck } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bootHttp, type HttpTest } from './harness.js'

const check = (c: HealthCheck) => provide(HealthChecks, { value: c })
const Config = defineConfig({ schema: z.object({}) })
/** Runs every check once, so that the probes have results to answer from. */
const settle = async (h: HttpTest) => (await h.t.resolve(Health)).checkNow()

describe('the probes', () => {
  it('answer 200 with a small body when live, ready and started', async () => {
    await using h = await bootHttp({}, [check({ name: 'db', check: () => 'up' })])
    await settle(h)
    for (const path of ['/health/live', '/health/ready', '/health/startup']) {
      const response = await h.server.fastify.inject(path)
      expect(response.statusCode, path).toBe(200)
      expect(response.json(), path).toEqual({ status: 'up' })
      expect(response.headers['cache-control']).toBe('no-store')
    }
  })

  it('answer readiness 503 with the reason when a critical dependency is down, and stay live', async () => {
    await using h = await bootHttp({}, [check({ name: 'db', check: () => { throw new Error('ECONNREFUSED') } })])
    await settle(h)
    const ready = await h.server.fastify.inject('/health/ready')
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toEqual({ status: 'down', reasons: ['db is down'] })
    expect((await h.server.fastify.inject('/health/live')).statusCode).toBe(200)
  })

  it('answer readiness 200 degraded naming each check that is not up and why, in a small body', async () => {
    const db = check({ name: 'database', check: () => ({ status: 'degraded', error: 'PLINTH_ERR_DB_UNAVAILABLE: database postgres://app:***@127.0.0.1:1/app is unavailable: connect ECONNREFUSED 127.0.0.1:1' }) })
    const queue = check({ name: 'jobs', check: () => ({ status: 'degraded', details: { reason: "the queue's database is unavailable" } }) })
    await using h = await bootHttp({}, [db, queue, check({ name: 'cache', check: () => 'up' })])
    await settle(h)
    const ready = await h.server.fastify.inject('/health/ready')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({
      status: 'degraded',
      reasons: ['database is degraded: PLINTH_ERR_DB_UNAVAILABLE: database postgres://app:***@127.0.0.1:1/app is unavailable: connect ECONNREFUSED 127.0.0.1:1', "jobs is degraded: the queue's database is unavailable"],
    })
    expect(ready.body.length).toBeLessThan(400)
  })

  it('keep the why of a degraded readiness to /health\'s audience, and mask the configuration\'s secrets in it', async () => {
    const Secretive = defineConfig({ schema: z.object({ apiKey: z.string().default('sk-live-123456') }), secrets: ['apiKey'] })
    const upstream = check({ name: 'ai', critical: false, check: () => { throw new Error('401 for key sk-live-123456') } })
    await using dev = await bootHttp({}, [upstream], { config: Secretive })
    await settle(dev)
    expect((await dev.server.fastify.inject('/health/ready')).json()).toEqual({ status: 'degraded', reasons: ['ai is down: 401 for key [redacted]'] })

    await using prod = await bootHttp({}, [upstream], { config: Secretive, env: { APP_ENV: 'production' }, shutdown: { drainDelay: 0 } })
    await settle(prod)
    expect((await prod.server.fastify.inject('/health/ready')).json()).toEqual({ status: 'degraded', reasons: ['ai is down'] })
  })

  it('report every check at /health with latency, last error, history and breaker', async () => {
    let n = 0
    await using h = await bootHttp({}, [check({ name: 'queue', critical: false, check: () => (++n === 1 ? 'up' : 'down') })])
    await settle(h)
    const response = await h.server.fastify.inject('/health')
    expect(response.statusCode).toBe(200)
    const report = response.json<{ status: string; checks: Record<string, unknown>[] }>()
    expect(report.status).toBe('degraded')
    const queue = report.checks.find((c) => c.name === 'queue')!
    expect(queue).toMatchObject({ name: 'queue', source: 'check', critical: false, status: 'down', lastError: { message: 'reported down' }, breaker: { state: 'closed', failures: 1 } })
    expect(queue.latency).toEqual(expect.any(Number))
    expect((queue.history as { status: string }[]).map((r) => r.status)).toEqual(['down', 'up'])
  })

  it('keep check details to themselves in production unless allowed', async () => {
    const env = { APP_ENV: 'production' }
    const failing = check({ name: 'db', check: () => { throw new Error('password authentication failed for user "app"') } })
    // Production's drain delay is seconds long; these apps have nothing to drain.
    const shutdown = { drainDelay: 0 }
    await using h = await bootHttp({}, [failing], { config: Config, env, shutdown })
    await settle(h)
    const body = (await h.server.fastify.inject('/health')).body
    expect(body).not.toContain('password')
    const restricted = JSON.parse(body) as { status: string; checks: { name: string }[] }
    expect(restricted.status).toBe('down')
    expect(restricted.checks.find((c) => c.name === 'db')).toMatchObject({ name: 'db', critical: true, status: 'down' })

    await using allowed = await bootHttp({ healthDetails: (request) => request.headers['x-ops'] === 'yes' }, [failing], { config: Config, env, shutdown })
    await settle(allowed)
    expect((await allowed.server.fastify.inject({ url: '/health', headers: { 'x-ops': 'yes' } })).body).toContain('password authentication failed')
  })

  it('serve /info with version, commit, environment and uptime', async () => {
    // GIT_COMMIT comes from the environment the app was started with, as every setting does.
    await using h = await bootHttp({}, [], { env: { GIT_COMMIT: 'abc1234' } })
    const info = (await h.server.fastify.inject('/info')).json<Record<string, unknown>>()
    expect(info).toMatchObject({ name: 'http-test', version: '1.0.0', commit: 'abc1234', environment: 'development', state: 'ready' })
    expect(info.uptimeSeconds).toEqual(expect.any(Number))
  })

  it('serve /boot: the boot timeline with each component\'s start', async () => {
    const db = component('db', { create: () => ({}), start: () => new Promise((resolve) => setTimeout(resolve, 5)) })
    const api = component('api', { eager: true, deps: { db }, create: () => ({}) })
    await using h = await bootHttp({}, [db, api])
    const boot = (await h.server.fastify.inject('/boot')).json<{ events: { type: string; component?: string; duration?: number }[] }>()
    const started = boot.events.filter((e) => e.type === 'component-started').map((e) => e.component)
    expect(started).toEqual(expect.arrayContaining(['db', 'api', 'http-server']))
    expect(boot.events.find((e) => e.type === 'component-started' && e.component === 'db')?.duration).toBeGreaterThan(0)
    expect(boot.events.at(-1)?.type).toBe('ready')
  })
})

describe('the probes over a real socket', () => {
  it('answer readiness at once while a critical check hangs, and say which', async () => {
    let pending = 0
    const hang = check({ name: 'slow-db', timeout: 60_000, check: () => { pending++; return new Promise<never>(() => {}) } })
    await using h = await bootHttp({ listen: true, port: 0 }, [hang])
    const base = h.server.url!
    const ready = await fetch(`${base}/health/ready`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ status: 'down', reasons: ['slow-db is unknown'] })
    // The check's one run is still in flight: the probe did not wait for it.
    const report = (await (await fetch(`${base}/health`)).json()) as { checks: { name: string; pendingFor?: number }[] }
    expect(pending).toBe(1)
    expect(report.checks.find((c) => c.name === 'slow-db')?.pendingFor).toEqual(expect.any(Number))
    expect((await fetch(`${base}/health/live`)).status).toBe(200)
  })

  it('announce the address and the docs in the ready line', async () => {
    await using h = await bootHttp({ listen: true, port: 0 })
    const endpoints = h.t.app.endpoints()
    expect(endpoints.map((e) => e.name)).toEqual(['http', 'docs'])
    const ready = h.lines.find((line) => String(line.msg).startsWith('ready in'))
    expect(String(ready?.msg)).toContain(`http ${h.server.url}, docs ${h.server.url}/docs`)
  })
})
