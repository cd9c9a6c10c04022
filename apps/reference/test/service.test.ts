/**
 * The reference service as a whole: every server started and announced, each with its
 * readiness check, both modules discovered from the modules folder, their bootstrap files
 * prepared (and an operator's edits used), and the metrics the modules add.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import WebSocket from 'ws'
import { describe, expect, it } from 'vitest'
import { graphql, grpcClients } from './clients.js'
import { sample, startService, unique } from './service.js'

describe('the reference service', () => {
  it('starts REST, WebSocket, gRPC, GraphQL and metrics, announces every address, and each server has a readiness check', async () => {
    await using service = await startService()
    const ready = service.t.spy.of('ready')[0]!
    expect(ready.endpoints.map((e) => e.name).sort()).toEqual(['docs', 'graphql', 'grpc', 'http', 'metrics', 'websocket'])
    expect(ready.duration).toBeGreaterThan(0)
    expect(service.app.state).toBe('ready')

    expect((await service.rest('GET', '/health/ready')).status).toBe(200)
    expect((await fetch(`${service.urls.docs}/json`)).status).toBe(200)
    const ws = new WebSocket(service.urls.websocket!)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    ws.close()
    expect((await graphql(service.urls.graphql!, '{ __typename }')).data).toEqual({ __typename: 'Query' })
    const grpc = grpcClients(service.urls.grpc!)
    try {
      expect(await grpc.check('')).toBe('SERVING')
      expect(await grpc.check('plinth.telemetry.v1.Telemetry')).toBe('SERVING')
    } finally {
      grpc.close()
    }
    expect(sample(await service.metrics(), 'app_startup_duration_seconds')).toBeGreaterThan(0)

    const checks = ((await service.rest('GET', '/health')).body.checks as Array<{ name: string }>).map((c) => c.name)
    expect(checks).toEqual(expect.arrayContaining(['ws-server', 'grpc-server', 'graphql-server', 'database', 'ai-provider']))
  })

  it('discovers its modules, prepares what they declare, and uses what an operator edited', async () => {
    await using service = await startService({}, {
      beforeStart: async (dataDir) => {
        await mkdir(join(dataDir, 'telemetry'), { recursive: true })
        await writeFile(join(dataDir, 'telemetry/default-rules.json'), JSON.stringify({ pump: [{ kind: 'threshold', metric: 'pressure', above: 8 }] }))
      },
    })
    // Every module in the folder is discovered (listed by id: their order follows dependencies) and ready.
    const modules = service.app.modules()
    expect(modules.map((m) => m.id).sort()).toEqual(['auth', 'chat-session', 'cluster', 'conversation', 'courses', 'features', 'plugins', 'provisioning', 'telemetry', 'telemetry-events'])
    for (const m of modules) expect([m.id, m.state, m.source]).toEqual([m.id, 'ready', expect.stringMatching(new RegExp(`apps/reference/src/modules/${m.id}/module\\.ts$`))])
    expect(await readFile(join(service.dataDir, 'conversation/persona.md'), 'utf8')).toContain('companion for children')

    const id = unique('pump')
    await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: 'pump' })
    expect((await service.rest('GET', `/api/v1/telemetry/devices/${id}/rules`)).body).toMatchObject([{ kind: 'threshold', metric: 'pressure', above: 8 }])
    await service.rest('POST', '/api/v1/telemetry/readings/batch', { readings: [9, 10].map((value, i) => ({ device: id, metric: 'pressure', value, timestamp: new Date(Date.now() - i * 1000).toISOString() })) })
    const metrics = await service.metrics()
    expect(sample(metrics, 'telemetry_readings_ingested_total{transport="rest"}')).toBe(2)
    expect(sample(metrics, 'telemetry_findings_total{kind="threshold"}')).toBe(2)
  })
})
