import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '@plinth/core'
import { ConsulRegistry, ServiceDiscovery, discoveryErrors } from '@plinth/discovery'
import { logSink } from './helpers.js'
import { instanceOf, registryConformance, until } from './conformance.js'
import { startFakeConsul, type FakeConsul } from './consul-server.js'

let consul: FakeConsul
beforeAll(async () => {
  consul = await startFakeConsul()
})
afterAll(async () => {
  await consul.close()
})

registryConformance('consul', { create: async ({ ttl }) => new ConsulRegistry({ address: consul.url, ttl, wait: 5_000, fallbackInterval: 100 }) })

describe('consul specifics', () => {
  it('registers an agent service with a TTL check, passes the check to renew, and deregisters', async () => {
    const registry = new ConsulRegistry({ address: consul.url, ttl: 15_000 })
    const instance = instanceOf('billing')
    await registry.register(instance)
    const [entry] = (await (await fetch(`${consul.url}/v1/health/service/billing`)).json()) as { Service: { Port: number }; Checks: { CheckID: string; Status: string }[] }[]
    expect(entry!.Checks).toEqual([{ CheckID: `service:${instance.id}`, Status: 'passing' }])
    expect(entry!.Service.Port).toBe(Number(new URL(instance.addresses.http!).port))
    const first = consul.requests.length
    await registry.renew(instance)
    await registry.deregister('billing', instance.id)
    expect(consul.requests.slice(first)).toEqual([`PUT /v1/agent/check/pass/service%3A${instance.id}`, `PUT /v1/agent/service/deregister/${instance.id}`])
    await registry.close()
  })

  it('watches with blocking queries: index from X-Consul-Index, and a wait', async () => {
    const registry = new ConsulRegistry({ address: consul.url, wait: 5_000 })
    const service = 'blocking-svc'
    const first = consul.requests.length
    const seen = until(registry, service, (list) => list.length === 1)
    await new Promise((resolve) => setTimeout(resolve, 100))
    await registry.register(instanceOf(service))
    await seen
    const reads = consul.requests.slice(first).filter((r) => r.startsWith(`GET /v1/health/service/${service}`))
    expect(reads[0]).toBe(`GET /v1/health/service/${service}?passing=true`)
    expect(reads[1]).toMatch(new RegExp(`^GET /v1/health/service/${service}\\?passing=true&index=\\d+&wait=5000ms$`))
    // One blocked read was woken by the registration: no polling in between.
    expect(reads.length).toBeLessThanOrEqual(3)
    await registry.close()
  })

  it('without X-Consul-Index, falls back to reading every fallbackInterval without an index (no tight loop)', async () => {
    consul.omitIndex = true
    try {
      const registry = new ConsulRegistry({ address: consul.url, fallbackInterval: 100 })
      const service = 'no-index-svc'
      const first = consul.requests.length
      const watch = registry.watch(service, () => {})
      await registry.register(instanceOf(service))
      await until(registry, service, (list) => list.length === 1)
      await new Promise((resolve) => setTimeout(resolve, 350))
      watch.close()
      const reads = consul.requests.slice(first).filter((r) => r.startsWith(`GET /v1/health/service/${service}`))
      for (const read of reads) expect(read).not.toContain('index=')
      // About one read per 100 ms, not hundreds.
      expect(reads.length).toBeLessThan(12)
      await registry.close()
    } finally {
      consul.omitIndex = false
    }
  })

  it('sends the ACL token, and names the agent and status when it is refused', async () => {
    consul.token = 'secret-token'
    try {
      const refused = new ConsulRegistry({ address: consul.url })
      const error = await refused.register(instanceOf('acl-svc')).catch((e: unknown) => e)
      expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_REGISTRY_REJECTED')).toBe(true)
      expect(String(error)).toContain(`the consul agent at ${consul.url} answered PUT /v1/agent/service/register with 403: ACL not found`)
      const allowed = new ConsulRegistry({ address: consul.url, token: 'secret-token' })
      await allowed.register(instanceOf('acl-svc'))
      expect(await allowed.instances('acl-svc')).toHaveLength(1)
    } finally {
      consul.token = undefined
    }
  })

  it('says PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE with the address when no agent answers', async () => {
    const closed = await startFakeConsul()
    await closed.close()
    const registry = new ConsulRegistry({ address: closed.url })
    const error = await registry.instances('x').catch((e: unknown) => e)
    expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE')).toBe(true)
    expect(String(error)).toContain(`the consul agent at ${closed.url} did not answer GET /v1/health/service/x (ECONNREFUSED)`)
  })

  it('lists a service registered by others (no Plinth metadata) with an http address from Address:Port', async () => {
    await fetch(`${consul.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ ID: 'legacy-1', Name: 'legacy', Address: '10.0.0.9', Port: 9000, Check: { CheckID: 'service:legacy-1', TTL: '60s', Status: 'passing' } }) })
    const registry = new ConsulRegistry({ address: consul.url })
    expect(await registry.instances('legacy')).toEqual([{ service: 'legacy', id: 'legacy-1', addresses: { http: 'http://10.0.0.9:9000' }, version: '', metadata: {}, health: 'passing', draining: false, weight: 1 }])
  })

  it('a discovery whose agent is unreachable says so once and answers no instance meanwhile', async () => {
    const agent = await startFakeConsul()
    const address = agent.url
    await agent.close()
    const log = logSink()
    const registry = new ConsulRegistry({ address, fallbackInterval: 50 })
    const discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false }, log: createLogger({ level: 'info', destination: log.destination }) })
    expect(await discovery.routable('orders')).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 300)) // several failed reads
    const warnings = log.messages('warn')
    expect(warnings).toHaveLength(1)
    // One line with the reason, no stack.
    expect(warnings[0]).toMatch(/^cannot read the instances of "orders" from the consul registry \(.+\); using the last known list while retrying$/)
    expect(log.lines.find((line) => line.level === 40)).not.toHaveProperty('err')
    discovery.close()
    await registry.close()
  })
})
