/**
 * The telemetry module end to end, through every protocol it offers: REST, WebSocket topics,
 * a gRPC client stream, GraphQL queries and a subscription. Run against each database by
 * sqlite.test.ts and postgres.test.ts.
 */
import { status } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphql, grpcClients, subscribe, WsClient } from './clients.js'
import { telemetryStore } from '../src/modules/telemetry/components.js'
import { eventually, unique, type Service } from './service.js'

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString()

export function describeTelemetry(start: () => Promise<Service>): void {
  describe('telemetry', () => {
    let service: Service
    let grpc: ReturnType<typeof grpcClients>
    beforeAll(async () => {
      service = await start()
      grpc = grpcClients(service.urls.grpc!)
    })
    afterAll(async () => {
      grpc?.close()
      await service?.stop()
    })

    const register = async (kind = 'sensor', metadata: Record<string, string> = {}) => {
      const id = unique(kind)
      const res = await service.rest('POST', '/api/v1/telemetry/devices', { id, kind, metadata })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return id
    }
    const readingsOf = async (id: string, query = '') => (await service.rest('GET', `/api/v1/telemetry/devices/${id}/readings${query}`)).body as any[]

    it('registers a device with the default rules of its kind, once', async () => {
      const id = await register('thermometer', { room: 'kitchen' })
      expect((await service.rest('GET', `/api/v1/telemetry/devices/${id}`)).body).toMatchObject({ id, kind: 'thermometer', metadata: { room: 'kitchen' } })
      const rules = (await service.rest('GET', `/api/v1/telemetry/devices/${id}/rules`)).body
      // Rules made at the same moment are listed by kind.
      expect(rules).toMatchObject([
        { kind: 'silence', seconds: 300 },
        { kind: 'threshold', metric: 'temperature', above: 60, below: -20 },
      ])
      const again = await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'thermometer' })
      expect(again.status).toBe(409)
      expect(again.headers.get('content-type')).toBe('application/problem+json')
      expect(again.body.detail).toBe(`device "${id}" is registered already`)
    })

    it('ingests a reading over REST and publishes it to the WebSocket subscribers of its device', async () => {
      const id = await register()
      const other = await register()
      const ws = await WsClient.connect(service.urls.websocket!)
      try {
        expect(await ws.request('subscribe', { topic: `telemetry:${id}` })).toMatchObject({ type: 'result' })
        const sent = await service.rest('POST', '/api/v1/telemetry/readings', { device: id, metric: 'humidity', value: 41.5 })
        expect(sent.body).toEqual({ stored: 1, duplicates: 0, findings: 0 })
        await service.rest('POST', '/api/v1/telemetry/readings', { device: other, metric: 'humidity', value: 99 })
        const event = await ws.next((m) => m.type === 'event')
        expect(event).toMatchObject({ topic: `telemetry:${id}`, data: { device: id, metric: 'humidity', value: 41.5 } })
        expect(Date.parse(event.data.timestamp)).toBeGreaterThan(Date.now() - 10_000)
        expect(await readingsOf(id)).toEqual([event.data])
        await new Promise((resolve) => setTimeout(resolve, 100))
        expect(ws.received.filter((m) => m.type === 'event')).toHaveLength(1)
      } finally {
        ws.close()
      }
    })

    it('stores a batch all or nothing: one bad reading rejects it, naming the field', async () => {
      const id = await register()
      const good = (value: number, minutes: number) => ({ device: id, metric: 'temperature', value, timestamp: minutesAgo(minutes) })

      const unregistered = await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings: [good(20, 3), good(21, 2), { ...good(22, 1), device: 'no-such-device' }] })
      expect(unregistered.status).toBe(400)
      expect(unregistered.headers.get('content-type')).toBe('application/problem+json')
      expect(unregistered.body).toMatchObject({ type: 'urn:plinth:problem:validation-failed', errors: [{ pointer: '#/body/readings/2/device', detail: '"no-such-device" is not a registered device' }] })
      expect(unregistered.body.detail).toContain('nothing was stored')

      const malformed = await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings: [good(20, 3), { ...good(21, 2), value: 'warm' }] })
      expect(malformed.status).toBe(400)
      expect(malformed.body.errors).toEqual([{ pointer: '#/body/readings/1/value', detail: 'must be number' }])
      expect(await readingsOf(id)).toEqual([])

      const batch = [good(20, 3), good(21, 2), good(22, 1)]
      expect((await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings: batch })).body).toEqual({ stored: 3, duplicates: 0, findings: 0 })
      expect((await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings: batch })).body).toEqual({ stored: 0, duplicates: 3, findings: 0 })
      expect((await readingsOf(id)).map((r) => r.value)).toEqual([22, 21, 20])
    })

    it('never loses a reading without a timestamp: those of one device and metric in a batch are stamped a millisecond apart, in order', async () => {
      const id = await register()
      const other = await register()
      const batch = { readings: [20, 21, 22].map((value) => ({ device: id, metric: 'temperature', value })).concat([{ device: other, metric: 'temperature', value: 5 }]) }
      expect((await service.rest('POST', '/api/v1/telemetry/readings/batch', batch)).body).toEqual({ stored: 4, duplicates: 0, findings: 0 })
      const stored = await readingsOf(id)
      expect(stored.map((r) => r.value)).toEqual([22, 21, 20])
      const times = stored.map((r) => Date.parse(r.timestamp)).reverse()
      expect(times).toEqual([times[0], times[0]! + 1, times[0]! + 2])
      // Another device's series starts at the batch's arrival time too.
      expect((await readingsOf(other)).map((r) => Date.parse(r.timestamp))).toEqual([times[0]])
      // Sent again, they are new readings (they carry no identity); readings with a timestamp are the ones a retry repeats.
      expect((await service.rest('POST', '/api/v1/telemetry/readings/batch', batch)).body).toEqual({ stored: 4, duplicates: 0, findings: 0 })
      expect(await readingsOf(id)).toHaveLength(6)
    })

    it('counts a retried batch\'s readings that carry their timestamp as duplicates, and stores its timestamp-less ones again', async () => {
      const id = await register()
      const at = minutesAgo(5)
      const batch = { readings: [{ device: id, metric: 'temperature', value: 20, timestamp: at }, { device: id, metric: 'temperature', value: 21 }, { device: id, metric: 'humidity', value: 40, timestamp: at }] }
      expect((await service.rest('POST', '/api/v1/telemetry/readings/batch', batch)).body).toEqual({ stored: 3, duplicates: 0, findings: 0 })
      expect((await service.rest('POST', '/api/v1/telemetry/readings/batch', batch)).body).toEqual({ stored: 1, duplicates: 2, findings: 0 })
      expect((await readingsOf(id)).map((r) => r.value).sort()).toEqual([20, 21, 21, 40])
    })

    it('moves a reading stamped on arrival to the next free moment when another reading holds its moment', async () => {
      const id = await register()
      const store = await service.t.resolve(telemetryStore)
      const at = Date.parse(minutesAgo(1))
      const iso = (ms: number) => new Date(ms).toISOString()
      // Another request's readings hold `at` and `at + 1 ms`, one of them with its own timestamp.
      expect(await store.insertReadings([0, 1].map((ms) => ({ device: id, metric: 'temperature', value: 1, timestamp: iso(at + ms) })))).toHaveLength(2)
      const { stored, unplaced } = await store.insertArrivals([2, 3].map((value, ms) => ({ device: id, metric: 'temperature', value, timestamp: iso(at + ms) })))
      expect(unplaced).toEqual([])
      // The block of two moves past them in one move, in its order.
      expect(stored.map((r) => [r.value, Date.parse(r.timestamp) - at])).toEqual([[2, 2], [3, 3]])
      expect(await readingsOf(id)).toHaveLength(4)
      // With no move allowed, a taken moment is reported, not skipped.
      const crowded = await store.insertArrivals([{ device: id, metric: 'temperature', value: 9, timestamp: iso(at) }], 0)
      expect(crowded).toEqual({ stored: [], unplaced: [{ device: id, metric: 'temperature', value: 9, timestamp: iso(at) }] })
    })

    it('ingests a gRPC client stream as one batch, and rejects a bad stream whole', async () => {
      const id = await register()
      const readings = [1, 2, 3].map((n) => ({ device: id, metric: 'pressure', value: n, timestamp: minutesAgo(n) }))
      expect(await grpc.ingest(readings)).toEqual({ stored: 3, duplicates: 0, findings: 0 })
      expect((await readingsOf(id)).map((r) => r.value)).toEqual([1, 2, 3])

      const bad = [{ device: id, metric: 'pressure', value: 4 }, { device: 'no-such-device', metric: 'pressure', value: 5 }]
      const error = await grpc.ingest(bad).then(() => undefined, (e: { code: number; details: string }) => e)
      expect(error?.code).toBe(status.INVALID_ARGUMENT)
      expect(error?.details).toContain('readings[1].device: "no-such-device" is not a registered device')
      expect(await readingsOf(id)).toHaveLength(3)

      // Readings without a timestamp in one stream are all kept, as in a REST batch.
      expect(await grpc.ingest([7, 8].map((value) => ({ device: id, metric: 'pressure', value })))).toEqual({ stored: 2, duplicates: 0, findings: 0 })
      expect((await readingsOf(id)).map((r) => r.value).slice(0, 2)).toEqual([8, 7])
    })

    it('answers GraphQL queries by device and time range, and streams new readings to a subscription', async () => {
      const id = await register('meter', { site: 'north' })
      const readings = [30, 20, 10].map((minutes) => ({ device: id, metric: 'power', value: minutes, timestamp: minutesAgo(minutes) }))
      await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings })
      const query = `query ($id: ID!, $from: String, $to: String) {
        device(id: $id) { kind metadata { key value } }
        readings(device: $id, from: $from, to: $to) { metric value timestamp }
        unknown: device(id: "no-such-device") { id }
      }`
      const range = await graphql(service.urls.graphql!, query, { id, from: minutesAgo(25), to: minutesAgo(15) })
      expect(range.errors).toBeUndefined()
      expect(range.data).toEqual({ device: { kind: 'meter', metadata: [{ key: 'site', value: 'north' }] }, readings: [{ metric: 'power', value: 20, timestamp: readings[1]!.timestamp }], unknown: null })

      const invalid = await graphql(service.urls.graphql!, 'query ($id: ID!) { readings(device: $id, from: "yesterday") { value } }', { id })
      expect(invalid.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT')
      expect(invalid.errors?.[0]?.message).toContain('from: must be an RFC 3339 date-time')

      const live = subscribe(service.urls.graphql!, 'subscription ($id: ID!) { readingAdded(device: $id) { device metric value } }', { id })
      try {
        let value = 100
        await live.first(() => service.rest('POST', '/api/v1/telemetry/readings', { device: id, metric: 'power', value: ++value }))
        expect(live.errors).toEqual([])
        expect(live.values[0]).toEqual({ data: { readingAdded: { device: id, metric: 'power', value: live.values[0].data.readingAdded.value } } })
        expect(live.values[0].data.readingAdded.value).toBeGreaterThan(100)
      } finally {
        await live.dispose()
      }
    })

    it('raises threshold and silence findings, readable over REST and GraphQL', async () => {
      const id = await register('pump')
      const rule = (body: unknown) => service.rest('POST', `/api/v1/telemetry/devices/${id}/rules`, body)
      expect((await rule({ kind: 'threshold', metric: 'pressure', above: 5 })).status).toBe(201)
      expect((await rule({ kind: 'silence', seconds: 1 })).status).toBe(201)
      const invalid = await rule({ kind: 'threshold', metric: 'pressure' })
      expect(invalid.status).toBe(400)
      expect(invalid.body.errors).toEqual([{ pointer: '#/body/above', detail: 'needs "above", "below" or both' }])

      const timestamp = new Date().toISOString()
      expect((await service.rest('POST', '/api/v1/telemetry/readings', { device: id, metric: 'pressure', value: 7.5, timestamp })).body).toMatchObject({ findings: 1 })
      const findings = await eventually(async () => {
        const list = (await service.rest('GET', `/api/v1/telemetry/devices/${id}/findings`)).body as any[]
        return list.length === 2 ? list : undefined
      }, 5_000, 'a silence finding')
      expect(findings.map((f) => [f.kind, f.message])).toEqual([
        ['silence', `no data for more than 1 s since its last reading at ${timestamp}`],
        ['threshold', 'pressure 7.5 is above 5'],
      ])
      // One silence is found once, however often the watcher looks.
      await new Promise((resolve) => setTimeout(resolve, 300))
      const viaGraphql = await graphql(service.urls.graphql!, 'query ($id: ID!) { findings(device: $id) { kind message value observedAt } }', { id })
      expect(viaGraphql.data.findings).toEqual([
        { kind: 'silence', message: findings[0].message, value: null, observedAt: timestamp },
        { kind: 'threshold', message: 'pressure 7.5 is above 5', value: 7.5, observedAt: timestamp },
      ])
    })

    it('answers 404 problem details for an unknown device, and 400 naming each invalid field', async () => {
      const missing = await service.rest('GET', '/api/v1/telemetry/devices/no-such-device/readings')
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ status: 404, detail: 'no device "no-such-device" is registered' })
      const invalid = await service.rest('POST', '/api/v1/telemetry/devices', { id: 'has space', kind: '' })
      expect(invalid.status).toBe(400)
      expect(invalid.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['#/body/id', '#/body/kind'])
      const range = await service.rest('GET', `/api/v1/telemetry/devices/${await register()}/readings?from=${minutesAgo(1)}&to=${minutesAgo(2)}`)
      expect(range.status).toBe(400)
      expect(range.body.errors).toEqual([{ pointer: '#/querystring/to', detail: 'must be after "from"' }])
    })
  })
}
