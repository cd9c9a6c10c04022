/** The gRPC health probe against a real grpc-js server serving grpc.health.v1 (as @plinth/grpc does). */
import { Server, ServerCredentials } from '@grpc/grpc-js'
import { HealthImplementation } from 'grpc-health-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryRegistry, ServiceDiscovery, probeGrpc } from '@plinth/discovery'

let server: Server
let health: HealthImplementation
let address: string

beforeAll(async () => {
  server = new Server()
  health = new HealthImplementation({ '': 'SERVING', 'orders.v1.Orders': 'SERVING' })
  health.addToServer(server)
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))))
  address = `grpc://127.0.0.1:${port}`
})
afterAll(() => {
  server.forceShutdown()
})

describe('probeGrpc', () => {
  it('resolves when the server, or the named service, is SERVING', async () => {
    await probeGrpc(address, '', AbortSignal.timeout(2_000))
    await probeGrpc(address, 'orders.v1.Orders', AbortSignal.timeout(2_000))
  })

  it('rejects NOT_SERVING, naming the status', async () => {
    health.setStatus('orders.v1.Orders', 'NOT_SERVING')
    await expect(probeGrpc(address, 'orders.v1.Orders', AbortSignal.timeout(2_000))).rejects.toThrow(`gRPC health Check of ${address} answered NOT_SERVING`)
    health.setStatus('orders.v1.Orders', 'SERVING')
  })

  it('rejects a service the server does not know with its gRPC status (5, NOT_FOUND)', async () => {
    await expect(probeGrpc(address, 'nobody.v1.Nothing', AbortSignal.timeout(2_000))).rejects.toThrow(/failed with status 5/)
  })

  it('rejects when nothing listens', async () => {
    await expect(probeGrpc('grpc://127.0.0.1:1', '', AbortSignal.timeout(2_000))).rejects.toThrow(/ECONNREFUSED/)
  })

  it('drives ejection when a discovery probes over gRPC', async () => {
    const registry = new MemoryRegistry()
    await registry.register({ service: 'orders', id: 'g0', addresses: { grpc: address }, version: '1', metadata: {}, health: 'passing', draining: false, weight: 1 })
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: { kind: 'grpc', grpcService: 'orders.v1.Orders', interval: 30 }, ejection: { failures: 2, duration: 60_000 } } })
    expect(await discovery.routable('orders')).toHaveLength(1)
    health.setStatus('orders.v1.Orders', 'NOT_SERVING')
    const deadline = Date.now() + 5_000
    while (discovery.breaker('orders', 'g0').state !== 'open' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await discovery.routable('orders')).toEqual([])
    expect(discovery.breaker('orders', 'g0').snapshot().lastError).toContain('NOT_SERVING')
    health.setStatus('orders.v1.Orders', 'SERVING')
    discovery.close()
    await registry.close()
  })
})
