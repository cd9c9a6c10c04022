/**
 * Every protocol of both modules on PostgreSQL (a database of its own per run), and the
 * service starting while its database is down, then using it once it is back, without a restart.
 */
import { status } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TcpProxy } from '@plinth/core/testing'
import { grpcClients, WsClient } from './clients.js'
import { describeConversation } from './conversation.case.js'
import { dropTestDatabase, uniqueDatabaseName } from '@plinth/db/testing'
import { createDatabase, databaseUrl, postgres } from './postgres.js'
import { describeProvisioning } from './provisioning.case.js'
import { eventually, startService, unique } from './service.js'
import { describeTelemetry } from './telemetry.case.js'

describe.skipIf(!postgres.available)(postgres.title('on PostgreSQL'), () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  beforeAll(async () => {
    database = await createDatabase()
  })
  afterAll(() => database?.drop())

  describeTelemetry(() => startService({ DATABASE_URL: database.url }))
  describeConversation(() => startService({ DATABASE_URL: database.url }))
  describeProvisioning((env) => startService({ ...env, DATABASE_URL: database.url }))

  it('creates the database DATABASE_URL names at its first start, when it does not exist yet, and serves from it', async () => {
    const name = uniqueDatabaseName('plinth_reference_new')
    try {
      await using service = await startService({ DATABASE_URL: databaseUrl(name) })
      const created = service.app.timeline().find((e) => e.type === 'bootstrap-action' && e.subject === 'database')
      expect(created).toMatchObject({ action: 'create', target: 'app' })
      const id = unique('thermo')
      expect((await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'thermometer' })).status).toBe(201)
    } finally {
      await dropTestDatabase(name)
    }
  })

  it('starts with its database down, answers 503 with Retry-After, and works once the database is back, without a restart', async () => {
    const proxy = await TcpProxy.create({ host: new URL(database.url).hostname, port: Number(new URL(database.url).port || 5432) }, false)
    await using service = await startService({ DATABASE_URL: databaseUrl(database.name, proxy.port) })
    const grpc = grpcClients(service.urls.grpc!)
    try {
      // Serving, and saying from the start that it runs without its database.
      expect(service.app.state).toBe('degraded')
      const ready = await service.rest('GET', '/health/ready')
      expect(ready.status).toBe(200)
      expect(ready.body).toMatchObject({ status: 'degraded' })
      const health = await eventually(async () => {
        const report = (await service.rest('GET', '/health')).body
        return report.checks.find((c: { name: string; status: string }) => c.name === 'database' && c.status !== 'unknown') ? report : undefined
      })
      expect(health.status).toBe('degraded')

      const id = unique('thermo')
      const refused = await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'thermometer' })
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('5')
      expect(refused.headers.get('content-type')).toBe('application/problem+json')
      expect(refused.body).toMatchObject({ status: 503, detail: 'the database is unavailable; try again in 5 s', retryAfter: 5 })
      const register = await service.rest('POST', '/api/v1/auth/register', { email: `${id}@example.com`, password: 'a passphrase of several words' }, { token: null })
      expect([register.status, register.headers.get('retry-after'), register.body.retryAfter]).toEqual([503, '5', 5])
      const ingest = await service.rest('POST', '/api/v1/telemetry/readings', { device: id, metric: 'temperature', value: 20 })
      expect([ingest.status, ingest.headers.get('retry-after')]).toEqual([503, '5'])
      const streamed = await grpc.ingest([{ device: id, metric: 'temperature', value: 20 }]).then(() => undefined, (e: { code: number }) => e)
      expect(streamed?.code).toBe(status.UNAVAILABLE)

      await proxy.open()
      const registered = await eventually(async () => {
        const res = await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'thermometer' })
        return res.status === 503 ? undefined : res
      }, 10_000, 'the database coming back')
      expect(registered.status).toBe(201)

      const ws = await WsClient.connect(service.urls.websocket!)
      try {
        await ws.request('subscribe', { topic: `telemetry:${id}` })
        expect((await service.rest('POST', '/api/v1/telemetry/readings', { device: id, metric: 'temperature', value: 21 })).status).toBe(200)
        expect((await ws.next((m) => m.type === 'event')).data).toMatchObject({ device: id, value: 21 })
      } finally {
        ws.close()
      }
      expect(await grpc.ingest([{ device: id, metric: 'temperature', value: 22 }])).toMatchObject({ stored: 1 })
    } finally {
      grpc.close()
      await proxy.close()
    }
  })
})
