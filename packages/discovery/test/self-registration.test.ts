import { Health, component, createApp, provide, type PlinthError } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { describe, expect, it } from 'vitest'
import { Discovery, DiscoveryRegistry, MemoryRegistry, discovery, type ServiceInstance } from '@plinth/discovery'
import { until } from './conformance.js'
import { logSink, serverComponent } from './helpers.js'

const endpoints = { http: 'http://127.0.0.1:8123', docs: 'http://127.0.0.1:8123/docs', grpc: 'grpc://127.0.0.1:50123', metrics: 'http://127.0.0.1:9123' }

function appWith(registry: MemoryRegistry, options: Parameters<typeof discovery>[0] = {}, server = serverComponent(endpoints)) {
  const log = logSink()
  const app = createApp({
    name: 'orders',
    version: '1.4.0',
    components: [server, discovery({ instanceId: 'orders-1', metadata: { zone: 'a' }, ...options }), provide(DiscoveryRegistry, { value: registry })],
    shutdown: { drainDelay: 0 },
    logging: { level: 'info', destination: log.destination },
  })
  return { app, log }
}

describe('self-registration', () => {
  it('registers once the app is ready: name, id, each server address (not docs or metrics), version, metadata, health', async () => {
    const registry = new MemoryRegistry()
    const { app } = appWith(registry)
    await using t = await startTestApp(app)
    const [instance] = await until(registry, 'orders', (list) => list.length === 1)
    expect(instance).toEqual<ServiceInstance>({
      service: 'orders',
      id: 'orders-1',
      addresses: { grpc: 'grpc://127.0.0.1:50123', http: 'http://127.0.0.1:8123' },
      version: '1.4.0',
      metadata: { zone: 'a' },
      health: 'passing',
      draining: false,
      weight: 1,
    })
    expect(t.get(Discovery).self?.state).toBe('registered')
  })

  it('marks itself draining when shutdown is requested, before any listener closes, and deregisters at stop', async () => {
    const registry = new MemoryRegistry()
    let seenWhileClosing: readonly ServiceInstance[] = []
    const server = serverComponent(endpoints, async () => {
      seenWhileClosing = await registry.instances('orders')
    })
    const { app } = appWith(registry, {}, server)
    const t = await startTestApp(app)
    await until(registry, 'orders', (list) => list.length === 1)
    await t.stop()
    expect(seenWhileClosing.map((i) => i.draining)).toEqual([true])
    expect(await registry.instances('orders')).toEqual([])
  })

  it('keeps its registration alive past the lease by renewing it', async () => {
    const registry = new MemoryRegistry({ ttl: 300 })
    const { app } = appWith(registry)
    await using _t = await startTestApp(app)
    await until(registry, 'orders', (list) => list.length === 1)
    // Three leases later it is still there: renewed every ttl / 3.
    await new Promise((resolve) => setTimeout(resolve, 900))
    expect((await registry.instances('orders')).map((i) => i.id)).toEqual(['orders-1'])
  })

  it('replaces a wildcard listen host with the advertised one', async () => {
    const registry = new MemoryRegistry()
    const { app } = appWith(registry, { advertiseHost: '10.1.2.3' }, serverComponent({ http: 'http://0.0.0.0:8123' }))
    await using _t = await startTestApp(app)
    const [instance] = await until(registry, 'orders', (list) => list.length === 1)
    expect(instance!.addresses).toEqual({ http: 'http://10.1.2.3:8123' })
  })

  it('does not register an invalid address: says why once, and reports itself degraded while the app serves', async () => {
    const registry = new MemoryRegistry()
    const { app, log } = appWith(registry, {}, serverComponent({ http: 'unix:/tmp/orders.sock' }))
    await using t = await startTestApp(app)
    const self = t.get(Discovery).self!
    expect(self.state).toBe('invalid')
    expect(log.messages('error').filter((m) => m.includes('not registering'))).toEqual([
      'not registering with the memory registry: instance "orders-1" of service "orders": address "http" "unix:/tmp/orders.sock" has no network host (a unix socket or a path cannot be reached from another machine)',
    ])
    expect((self.lastError as PlinthError).code).toBe('PLINTH_ERR_DISCOVERY_INVALID_ADDRESS')
    const health = await t.resolve(Health)
    await health.checkNow('discovery')
    expect(health.report().checks.find((c) => c.name === 'discovery')?.status).toBe('degraded')
    expect(await registry.instances('orders')).toEqual([])
    expect(t.app.ready).toBe(true)
  })

  it('discovers only with register: false', async () => {
    const registry = new MemoryRegistry()
    const { app } = appWith(registry, { register: false })
    await using t = await startTestApp(app)
    expect(t.get(Discovery).self).toBeUndefined()
    expect(await t.get(Discovery).instances('orders')).toEqual([])
  })

  it('fails the boot at once for a service name that is not a DNS label, naming it', async () => {
    const registry = new MemoryRegistry()
    const { app } = appWith(registry, { service: 'Orders API' })
    const error = await app.start().catch((e: unknown) => e)
    expect(String((error as Error).message)).toContain('service name "Orders API" is not a DNS label')
    expect(await registry.instances('orders')).toEqual([])
  })

  it('fails the boot for an advertised host that is not one, and for a weight out of range', async () => {
    for (const [options, message] of [
      [{ advertiseHost: 'not a host' }, 'address "advertised" "http://not a host:1" is not an absolute URL'],
      [{ weight: 0 }, 'weight 0 must be an integer from 1 to 1000'],
    ] as const) {
      const { app } = appWith(new MemoryRegistry(), options)
      const error = await app.start().catch((e: unknown) => e)
      expect(String((error as Error).message)).toContain(message)
    }
  })

  it('registers the health of the app: critical while a dependency is down, passing again once it is back', async () => {
    const registry = new MemoryRegistry()
    const database = { up: true }
    const log = logSink()
    const app = createApp({
      name: 'orders',
      components: [
        serverComponent(endpoints),
        component('database', { eager: true, create: () => database, health: (db) => (db.up ? 'up' : 'down') }),
        discovery({ instanceId: 'orders-1' }),
        provide(DiscoveryRegistry, { value: registry }),
      ],
      shutdown: { drainDelay: 0 },
      logging: { level: 'info', destination: log.destination },
    })
    await using t = await startTestApp(app)
    const health = await t.resolve(Health)
    await until(registry, 'orders', (list) => list[0]?.health === 'passing')
    database.up = false
    await health.checkNow('database')
    await until(registry, 'orders', (list) => list[0]?.health === 'critical')
    database.up = true
    await health.checkNow('database')
    await until(registry, 'orders', (list) => list[0]?.health === 'passing')
  })
})
