/**
 * The client side against real HTTP servers playing instances: picking, retries on another
 * instance, timeouts, outlier ejection by per-instance breakers, readmission by health probes,
 * and metrics.
 */
import { Writable } from 'node:stream'
import { createApp, createLogger, Metrics, type MetricsRegistry } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MemoryRegistry, ServiceDiscovery, ServiceHttpClient, discoveryErrors, type ServiceInstance } from '@plinth/discovery'
import { testInstance, type TestInstance } from './helpers.js'

let registry: MemoryRegistry
let servers: TestInstance[]

async function instances(count: number): Promise<TestInstance[]> {
  for (let i = 0; i < count; i++) {
    const server = await testInstance(`i${i}`)
    servers.push(server)
    await registry.register(registered(`i${i}`, server.url))
  }
  return servers
}

function registered(id: string, url: string, overrides: Partial<ServiceInstance> = {}): ServiceInstance {
  return { service: 'orders', id, addresses: { http: url }, version: '1', metadata: {}, health: 'passing', draining: false, weight: 1, ...overrides }
}

beforeEach(() => {
  registry = new MemoryRegistry()
  servers = []
})
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await registry.close()
})

describe('ServiceHttpClient', () => {
  it('resolves http://<service>/path to the instances in turn, keeping path and query', async () => {
    await instances(3)
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
    const client = new ServiceHttpClient(discovery)
    const bodies = []
    for (let i = 0; i < 6; i++) bodies.push(await (await client.fetch('http://orders/api/v1/orders?limit=2')).text())
    expect(bodies).toEqual(['i0', 'i1', 'i2', 'i0', 'i1', 'i2'])
    expect(servers[0]!.seen).toEqual(['/api/v1/orders?limit=2', '/api/v1/orders?limit=2'])
    discovery.close()
  })

  it('retries an idempotent call on another instance when one is gone, and never fails it', async () => {
    await instances(3)
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
    const client = new ServiceHttpClient(discovery)
    await servers[1]!.close() // crashed, still registered
    const statuses = []
    for (let i = 0; i < 9; i++) statuses.push((await client.fetch('http://orders/x')).status)
    expect(statuses).toEqual(Array(9).fill(200))
    expect(servers[1]!.seen).toEqual([])
    discovery.close()
  })

  it('retries on another instance after a 503, and ejects an instance after 3 consecutive failures', async () => {
    await instances(2)
    servers[0]!.handle = (_request, response) => void response.writeHead(503).end('overloaded')
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false, ejection: { failures: 3, duration: 60_000 } } })
    const client = new ServiceHttpClient(discovery)
    for (let i = 0; i < 8; i++) expect(await (await client.fetch('http://orders/x')).text()).toBe('i1')
    expect(discovery.breaker('orders', 'i0').state).toBe('open')
    // Once ejected, i0 gets nothing more: three attempts reached it, no more.
    expect(servers[0]!.seen).toHaveLength(3)
    expect((await discovery.routable('orders')).map((i) => i.id)).toEqual(['i1'])
    discovery.close()
  })

  it('does not retry a POST, and says why in the error', async () => {
    await instances(1)
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
    const client = new ServiceHttpClient(discovery)
    await servers[0]!.close()
    const error = await client.fetch('http://orders/orders', { method: 'POST', body: '{}' }).catch((e: unknown) => e)
    expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_REQUEST_FAILED')).toBe(true)
    expect(String(error)).toContain('POST http://orders/orders failed on every instance tried (POST is not idempotent or its body is a stream: not retried; pass idempotent: true if it is safe): i0 (http://127.0.0.1:')
    expect(String(error)).toContain('ECONNREFUSED')
    discovery.close()
  })

  it('retries a POST marked idempotent', async () => {
    await instances(2)
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
    const client = new ServiceHttpClient(discovery)
    await servers[0]!.close()
    expect((await client.fetch('http://orders/orders', { method: 'POST', body: '{}', idempotent: true })).status).toBe(200)
    discovery.close()
  })

  it('gives up on a silent instance at the timeout with PLINTH_ERR_DISCOVERY_TIMEOUT, naming it', async () => {
    await instances(1)
    servers[0]!.handle = () => {} // never answers
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
    const client = new ServiceHttpClient(discovery, { timeout: 100 })
    const error = await client.fetch('http://orders/slow', { method: 'POST' }).catch((e: unknown) => e)
    expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_TIMEOUT')).toBe(true)
    expect(String(error)).toContain('POST http://orders/slow: i0 (http://127.0.0.1:')
    expect(String(error)).toContain('no answer within 100 ms')
    discovery.close()
  })

  it('answers PLINTH_ERR_DISCOVERY_NO_INSTANCE when nothing is registered, and skips draining instances', async () => {
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
    const client = new ServiceHttpClient(discovery)
    const error = await client.fetch('http://orders/x').catch((e: unknown) => e)
    expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_NO_INSTANCE')).toBe(true)
    expect(String(error)).toContain('no instance of "orders" to call: none is registered')

    const [server] = await instances(2)
    await registry.register(registered('i0', server!.url, { draining: true }))
    await waitFor(async () => (await discovery.routable('orders')).length === 1)
    for (let i = 0; i < 4; i++) expect(await (await client.fetch('http://orders/x')).text()).toBe('i1')
    discovery.close()
  })

  it('counts requests, errors and latency per service and instance', async () => {
    await instances(2)
    await servers[0]!.close()
    const app = createApp({ name: 'metrics-test', components: [] })
    await using t = await startTestApp(app)
    const metrics: MetricsRegistry = await t.resolve(Metrics)
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
    const client = new ServiceHttpClient(discovery, { metrics })
    for (let i = 0; i < 2; i++) await client.fetch('http://orders/x')
    const text = (await metrics.render()).body
    expect(text).toMatch(/discovery_client_requests_total\{service="orders",instance="i1",status="200"\} 2/)
    expect(text).toMatch(/discovery_client_errors_total\{service="orders",instance="i0",reason="network"\} 1/)
    expect(text).toMatch(/discovery_client_request_duration_seconds_count\{service="orders",instance="i1"\} 2/)
    discovery.close()
  })

  it('rejects a negative retry count at construction', () => {
    const discovery = new ServiceDiscovery({ registry })
    expect(() => new ServiceHttpClient(discovery, { retries: -1 })).toThrow('ServiceHttpClient: retries must be a non-negative integer; got -1')
    discovery.close()
  })
})

describe('remote health checks', () => {
  it('ejects an instance whose /health/ready fails 2 probes in a row, and readmits it once it passes again', async () => {
    await instances(2)
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: { interval: 50, timeout: 500 }, ejection: { failures: 2, duration: 200 } } })
    expect((await discovery.routable('orders')).map((i) => i.id)).toEqual(['i0', 'i1'])
    servers[0]!.ready = false
    await waitFor(() => discovery.breaker('orders', 'i0').state === 'open')
    expect((await discovery.routable('orders')).map((i) => i.id)).toEqual(['i1'])
    servers[0]!.ready = true
    await waitFor(() => discovery.breaker('orders', 'i0').state === 'closed')
    expect((await discovery.routable('orders')).map((i) => i.id)).toEqual(['i0', 'i1'])
    discovery.close()
  })

  it('keeps an ejected instance out while its probes keep failing, saying so once', async () => {
    await instances(1)
    const lines: { level: number; msg: string }[] = []
    const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(...chunk.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string }))) })
    const log = createLogger({ level: 'debug', destination: stream })
    const discovery = new ServiceDiscovery({ registry, log, defaults: { healthCheck: { interval: 30 }, ejection: { failures: 1, duration: 100 } } })
    await discovery.routable('orders')
    servers[0]!.ready = false
    await waitFor(() => discovery.breaker('orders', 'i0').state === 'open')
    const transitions: string[] = []
    discovery.breaker('orders', 'i0').onChange((from, to) => transitions.push(`${from}->${to}`))
    await waitFor(() => transitions.length >= 4)
    // Each trial probe (half-open) fails and reopens; it is never closed.
    expect(transitions.slice(0, 4)).toEqual(['open->half-open', 'half-open->open', 'open->half-open', 'half-open->open'])
    // One warning for the ejection; each failed trial that keeps it out is at debug.
    expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([expect.stringMatching(/^ejected orders\/i0 after 1 consecutive failures/)])
    expect(lines.filter((l) => l.level === 20 && l.msg === 'orders/i0: circuit half-open -> open').length).toBeGreaterThanOrEqual(2)
    discovery.close()
  })
})

async function waitFor(condition: () => boolean | Promise<boolean>, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
