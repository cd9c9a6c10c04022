/**
 * The cache and application state in the reference service: replies to repeated questions and
 * device look-ups come from the cache (hit/miss on /metrics), chat sessions keep a child's
 * context across requests, and two instances on one Redis (and one PostgreSQL) share the cache,
 * see each other's invalidations and serve each other's sessions.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { probeService } from '@plinth/core/testing'
import { createDatabase, postgres } from './postgres.js'
import { startService, unique, type Service } from './service.js'

const redisUrl = 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const secret = 'reference-test-session-secret-0123456789'

/** The value of the first series of `metric` whose labels include every one of `labels`. */
function series(exposition: string, metric: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([name, value]) => `${name}="${value}"`)
  const line = exposition.split('\n').find((l) => l.startsWith(`${metric}{`) && wanted.every((label) => l.includes(label)))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

async function send(service: Service, method: string, path: string, body: unknown, cookie?: string) {
  const res = await fetch(`${service.urls.http}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(cookie ? { cookie } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, cookie: res.headers.get('set-cookie')?.split(';')[0], body: text === '' ? undefined : (JSON.parse(text)) }
}

describe('cache and state, one instance', () => {
  it('answers a repeated question from the cache, and shows it on /metrics', async () => {
    await using service = await startService({ SESSION_SECRET: secret })
    const question = `Why is the sky ${unique('blue')}?`
    const first = await service.rest('POST', '/api/v1/conversation', { childId: 'child-1', message: question })
    const second = await service.rest('POST', '/api/v1/conversation', { childId: 'child-2', message: question })
    expect(second.body.reply).toBe(first.body.reply)
    const metrics = await service.metrics()
    expect(series(metrics, 'app_cache_hits_total', { namespace: 'conversation-replies', tier: 'memory' })).toBe(1)
    expect(series(metrics, 'app_cache_misses_total', { namespace: 'conversation-replies', tier: 'memory' })).toBe(1)
  })

  it('caches device look-ups, found and not found, and forgets "not found" when the device registers', async () => {
    await using service = await startService({ SESSION_SECRET: secret })
    const id = unique('thermo')
    expect((await service.rest('GET', `/api/v1/telemetry/devices/${id}`)).status).toBe(404)
    expect((await service.rest('GET', `/api/v1/telemetry/devices/${id}`)).status).toBe(404)
    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'thermometer' })).status).toBe(201)
    expect((await service.rest('GET', `/api/v1/telemetry/devices/${id}`)).body).toMatchObject({ id, kind: 'thermometer' })
    expect((await service.rest('GET', `/api/v1/telemetry/devices/${id}`)).body).toMatchObject({ id, kind: 'thermometer' })
    const metrics = await service.metrics()
    // 404 (miss), 404 (a hit on the cached "not found"), registration deletes the key, found (miss), found (hit).
    expect(series(metrics, 'app_cache_hits_total', { namespace: 'telemetry-devices', tier: 'memory' })).toBe(2)
    expect(series(metrics, 'app_cache_misses_total', { namespace: 'telemetry-devices', tier: 'memory' })).toBe(2)
  })

  it("keeps a child's conversation context in the session across requests, until the session ends", async () => {
    await using service = await startService({ SESSION_SECRET: secret })
    const started = await send(service, 'POST', '/api/v1/chat/session', { childId: 'child-7' })
    expect(started.status).toBe(201)
    const cookie = started.cookie!
    expect(cookie).toMatch(/^plinth\.sid=/)
    expect((await send(service, 'POST', '/api/v1/chat/messages', { message: 'Hello!' }, cookie)).body).toMatchObject({ childId: 'child-7', turns: 1 })
    expect((await send(service, 'POST', '/api/v1/chat/messages', { message: 'Hello!' }, cookie)).body).toMatchObject({ reply: 'Hello again! What shall we talk about now?', turns: 2 })
    const context = await send(service, 'GET', '/api/v1/chat/context', undefined, cookie)
    expect(context.body.childId).toBe('child-7')
    expect(context.body.turns.map((turn: { message: string }) => turn.message)).toEqual(['Hello!', 'Hello!'])
    expect((await send(service, 'POST', '/api/v1/chat/messages', { message: 'Hi' })).status).toBe(401)
    expect((await send(service, 'DELETE', '/api/v1/chat/session', undefined, cookie)).status).toBe(204)
    expect((await send(service, 'GET', '/api/v1/chat/context', undefined, cookie)).body).toEqual({ childId: null, turns: [] })
  })
})

describe.skipIf(!redis.available || !postgres.available)(`${redis.title('two instances on one Redis')} ${postgres.available ? '' : postgres.reason}`, () => {
  const prefix = `plinth-test:reference:${randomUUID().slice(0, 8)}`
  let database: Awaited<ReturnType<typeof createDatabase>>
  let a: Service
  let b: Service
  beforeAll(async () => {
    database = await createDatabase()
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, CACHE_PREFIX: `${prefix}:cache`, STATE_PREFIX: `${prefix}:state`, SESSION_SECRET: secret }
    a = await startService(env)
    b = await startService(env)
  })
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await database?.drop()
    const admin = new Redis(redisUrl)
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.unlink(...keys)
    await admin.quit()
  })

  it("sees the other instance's invalidation: a device registered on B is found on A at once", async () => {
    const id = unique('hygro')
    // A caches "not found" (for 5 s, in its memory and in Redis)...
    expect((await a.rest('GET', `/api/v1/telemetry/devices/${id}`)).status).toBe(404)
    expect((await a.rest('GET', `/api/v1/telemetry/devices/${id}`)).status).toBe(404)
    // ...B registers the device, which deletes the key in Redis and in every instance's memory.
    expect((await b.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'hygrometer' })).status).toBe(201)
    await expect.poll(async () => (await a.rest('GET', `/api/v1/telemetry/devices/${id}`)).status, { timeout: 2_000, interval: 20 }).toBe(200)
  })

  it("answers a question on B from the reply A cached, through Redis", async () => {
    const question = `What do whales eat, ${unique('friend')}?`
    const first = await a.rest('POST', '/api/v1/conversation', { childId: 'child-a', message: question })
    const second = await b.rest('POST', '/api/v1/conversation', { childId: 'child-b', message: question })
    expect(second.body.reply).toBe(first.body.reply)
    expect(series(await b.metrics(), 'app_cache_hits_total', { namespace: 'conversation-replies', tier: 'redis' })).toBe(1)
    expect(series(await a.metrics(), 'app_cache_misses_total', { namespace: 'conversation-replies', tier: 'redis' })).toBeGreaterThanOrEqual(1)
  })

  it('serves a session started on A from B, and ends it everywhere', async () => {
    const cookie = (await send(a, 'POST', '/api/v1/chat/session', { childId: 'child-9' })).cookie!
    expect((await send(b, 'POST', '/api/v1/chat/messages', { message: 'Hello!' }, cookie)).body).toMatchObject({ childId: 'child-9', turns: 1 })
    expect((await send(a, 'POST', '/api/v1/chat/messages', { message: 'Tell me about stars' }, cookie)).body).toMatchObject({ turns: 2 })
    expect((await send(b, 'DELETE', '/api/v1/chat/session', undefined, cookie)).status).toBe(204)
    expect((await send(a, 'GET', '/api/v1/chat/context', undefined, cookie)).body).toEqual({ childId: null, turns: [] })
  })
})
