/**
 * Telemetry over the event bus: readings published as events are stored and diagnosed by a
 * subscribed handler; poison readings are dead-lettered and visible over REST and `plinth dlq`;
 * two instances on one Redis (and on one NATS) share the work and fan WebSocket broadcasts out.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCommand } from '@plinth/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createReferenceApp } from '../src/app.js'
import { dropRedisKeys, nats, natsUrl, redis, redisUrl } from './brokers.js'
import { WsClient } from './clients.js'
import { eventually, sample, startService, unique, type Service } from './service.js'

async function register(service: Service, kind = 'pump'): Promise<string> {
  const id = unique(kind)
  const res = await service.rest('POST', '/api/v1/telemetry/devices', { id, kind, metadata: {} })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return id
}

const readingsOf = async (service: Service, id: string) => (await service.rest('GET', `/api/v1/telemetry/devices/${id}/readings`)).body as any[]

describe('telemetry events on the default (in-memory) bus', () => {
  let service: Service
  beforeAll(async () => {
    service = await startService()
  })
  afterAll(() => service.stop())

  it('stores a reading published as an event and raises its findings in the subscribed handler', async () => {
    const id = await register(service)
    expect((await service.rest('POST', `/api/v1/telemetry/devices/${id}/rules`, { kind: 'threshold', metric: 'pressure', above: 5 })).status).toBe(201)
    const timestamp = new Date().toISOString()
    const published = await service.rest('POST', '/api/v1/telemetry/events/readings', { device: id, metric: 'pressure', value: 9, timestamp })
    expect(published.status).toBe(202)
    expect(published.body.id).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/)
    const findings = await eventually(async () => {
      const list = (await service.rest('GET', `/api/v1/telemetry/devices/${id}/findings`)).body as any[]
      return list.length > 0 ? list : undefined
    })
    expect(findings).toMatchObject([{ kind: 'threshold', message: 'pressure 9 is above 5', value: 9, observedAt: timestamp }])
    expect(await readingsOf(service, id)).toMatchObject([{ device: id, metric: 'pressure', value: 9 }])
    expect(sample(await service.metrics(), 'telemetry_readings_ingested_total{transport="bus"}')).toBeGreaterThanOrEqual(1)
  })

  it('refuses a malformed event at the door with the field, before it reaches the bus', async () => {
    const res = await service.rest('POST', '/api/v1/telemetry/events/readings', { device: 'x', metric: 'pressure', value: 'high' })
    expect(res.status).toBe(400)
  })

  it('dead-letters a reading of an unregistered device after its retries, and replays it once the device exists', async () => {
    const id = unique('ghost')
    await service.rest('POST', '/api/v1/telemetry/events/readings', { device: id, metric: 'flow', value: 1 })
    const letters = await eventually(async () => {
      const list = (await service.rest('GET', '/api/v1/telemetry/dead-letters')).body as any[]
      const mine = list.filter((letter) => letter.message.payload.device === id)
      return mine.length > 0 ? mine : undefined
    })
    expect(letters).toMatchObject([{ topic: 'telemetry.reading', group: 'telemetry-findings', attempts: 3 }])
    expect(letters[0].error).toContain(`"${id}" is not a registered device`)
    const shown = await service.rest('GET', `/api/v1/telemetry/dead-letters/${letters[0].id}`)
    expect(shown.body).toEqual(letters[0])
    expect(sample(await service.metrics(), 'messaging_dead_lettered_total{topic="telemetry.reading",group="telemetry-findings"}')).toBeGreaterThanOrEqual(1)

    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'meter', metadata: {} })).status).toBe(201)
    expect((await service.rest('POST', `/api/v1/telemetry/dead-letters/${letters[0].id}/replay`)).body).toEqual({ replayed: 1 })
    await eventually(async () => ((await readingsOf(service, id)).length === 1 ? true : undefined))
    const missing = await service.rest('GET', `/api/v1/telemetry/dead-letters/${letters[0].id}`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toContain('application/problem+json')
  })
})

/** Two instances of the service on one broker and one database, the way a user scales out. */
function twoInstances(name: string, env: () => Record<string, string>, cleanup: (prefix: string) => Promise<void> = () => Promise.resolve()): void {
  describe(`two instances on ${name}`, () => {
    let a: Service
    let b: Service
    let dir: string
    const prefix = unique('ref').replace(/-/g, '')
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'plinth-two-instances-'))
      const shared = { DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, MESSAGING_PREFIX: prefix, ...env() }
      a = await startService(shared)
      b = await startService(shared)
    }, 60_000)
    afterAll(async () => {
      await Promise.allSettled([a?.stop(), b?.stop()])
      await rm(dir, { recursive: true, force: true })
      await cleanup(prefix)
    })

    it('shares the reading events of one group between the instances, each handled once', async () => {
      const id = await register(a)
      const values = Array.from({ length: 40 }, (_, i) => i)
      const base = Date.now() - 60_000
      for (const value of values) {
        const res = await a.rest('POST', '/api/v1/telemetry/events/readings', { device: id, metric: 'flow', value, timestamp: new Date(base + value).toISOString() })
        expect(res.status).toBe(202)
      }
      await eventually(async () => ((await readingsOf(a, id)).length === values.length ? true : undefined), 20_000, 'every reading stored')
      const acked = async (service: Service) => sample(await service.metrics(), 'messaging_acked_total{topic="telemetry.reading",group="telemetry-findings"}') ?? 0
      const [byA, byB] = [await acked(a), await acked(b)]
      expect(byA).toBeGreaterThan(0)
      expect(byB).toBeGreaterThan(0)
      // Each event handled once: the readings were all new, none a duplicate of a second handling.
      expect(sample(await a.metrics(), 'telemetry_readings_ingested_total{transport="bus"}')! + sample(await b.metrics(), 'telemetry_readings_ingested_total{transport="bus"}')!).toBe(values.length)
    }, 60_000)

    it('fans a WebSocket broadcast out: a client of instance B gets the reading ingested on instance A', async () => {
      const id = await register(a)
      const ws = await WsClient.connect(b.urls.websocket!)
      try {
        expect(await ws.request('subscribe', { topic: `telemetry:${id}` })).toMatchObject({ type: 'result' })
        await a.rest('POST', '/api/v1/telemetry/readings', { device: id, metric: 'humidity', value: 41.5 })
        const event = await ws.next((m) => m.type === 'event', 10_000)
        expect(event).toMatchObject({ topic: `telemetry:${id}`, data: { device: id, metric: 'humidity', value: 41.5 } })
      } finally {
        ws.socket.close()
      }
    }, 30_000)

    it('shows the dead letters of both instances through `plinth dlq`', async () => {
      const ghost = unique('ghost')
      await b.rest('POST', '/api/v1/telemetry/events/readings', { device: ghost, metric: 'flow', value: 1 })
      await eventually(async () => {
        const list = (await a.rest('GET', '/api/v1/telemetry/dead-letters')).body as any[]
        return list.some((letter) => letter.message.payload.device === ghost) ? true : undefined
      }, 15_000)
      const out: string[] = []
      const saved = { ...process.env }
      Object.assign(process.env, env(), { MESSAGING_PREFIX: a.app.env.MESSAGING_PREFIX })
      try {
        // A fresh app, as an operator's `plinth dlq` would be: it builds only the bus, from the environment.
        const code = await runCommand(createReferenceApp({ logging: { level: 'silent' } }), ['dlq', 'list', 'telemetry.reading'], { out: (t) => out.push(t), err: (t) => out.push(t) })
        expect(code, out.join('\n')).toBe(0)
      } finally {
        for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
        Object.assign(process.env, saved)
      }
      expect(out.join('\n')).toContain('telemetry-findings')
      expect(out.join('\n')).toContain(`"${ghost}" is not a registered device`)
    }, 30_000)
  })
}

describe.skipIf(!redis.available)(redis.title('on Redis Streams'), () => {
  twoInstances('one Redis', () => ({ REDIS_URL: redisUrl }), dropRedisKeys)
})

describe.skipIf(!nats.available)(nats.title('on NATS JetStream'), () => {
  twoInstances('one NATS', () => ({ NATS_URL: natsUrl }))
})
