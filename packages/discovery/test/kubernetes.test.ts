import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KubernetesRegistry, discoveryErrors, type ServiceInstance } from '@plinth/discovery'
import { instanceOf, until } from './conformance.js'
import { sliceOf, startFakeKubernetes, type FakeKubernetes } from './kubernetes-server.js'

let api: FakeKubernetes
let registry: KubernetesRegistry
beforeEach(async () => {
  api = await startFakeKubernetes()
  registry = new KubernetesRegistry({ apiServer: api.url, token: api.token, namespace: 'shop', retryDelay: 50 })
})
afterEach(async () => {
  await registry.close()
  await api.close()
})

const ids = (list: readonly ServiceInstance[]) => list.map((i) => `${i.id}${i.draining ? ':draining' : ''}${i.health === 'critical' ? ':critical' : ''}`)

describe('Kubernetes EndpointSlices', () => {
  it('lists each endpoint as an instance: ports by name as addresses, conditions as health and draining', async () => {
    api.apply('ADDED', sliceOf('orders', 'orders-abc', [{ name: 'orders-1', ip: '10.0.0.1' }, { name: 'orders-2', ip: '10.0.0.2', ready: false, serving: false }, { name: 'orders-3', ip: '10.0.0.3', ready: false, serving: true, terminating: true }]))
    api.apply('ADDED', sliceOf('billing', 'billing-xyz', [{ name: 'billing-1', ip: '10.0.1.1' }]))
    const list = await registry.instances('orders')
    expect(list[0]).toEqual({ service: 'orders', id: 'orders-1', addresses: { grpc: 'grpc://10.0.0.1:50051', http: 'http://10.0.0.1:8000' }, version: '', metadata: { node: 'node-a', zone: 'eu-west-1a' }, health: 'passing', draining: false, weight: 1 })
    expect(ids(list)).toEqual(['orders-1', 'orders-2:critical', 'orders-3:draining'])
    expect(api.requests[0]).toBe('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dorders')
  })

  it('watches from the list resourceVersion: pods come, turn terminating and go', async () => {
    api.apply('ADDED', sliceOf('orders', 'orders-abc', [{ name: 'orders-1', ip: '10.0.0.1' }]))
    const seen: string[][] = []
    const watch = registry.watch('orders', (list) => seen.push(ids(list)))
    await until(registry, 'orders', (list) => list.length === 1)
    api.apply('MODIFIED', sliceOf('orders', 'orders-abc', [{ name: 'orders-1', ip: '10.0.0.1' }, { name: 'orders-2', ip: '10.0.0.2' }]))
    api.apply('MODIFIED', sliceOf('orders', 'orders-abc', [{ name: 'orders-1', ip: '10.0.0.1', ready: false, serving: true, terminating: true }, { name: 'orders-2', ip: '10.0.0.2' }]))
    api.apply('DELETED', sliceOf('orders', 'orders-abc', []))
    await waitFor(() => seen.length === 4)
    watch.close()
    expect(seen).toEqual([['orders-1'], ['orders-1', 'orders-2'], ['orders-1:draining', 'orders-2'], []])
    expect(api.requests.filter((r) => r.includes('watch=1'))[0]).toMatch(/&watch=1&allowWatchBookmarks=true&resourceVersion=\d+$/)
  })

  for (const goneAs of ['event', 'status'] as const) {
    it(`relists when its watch expires (410 Gone as ${goneAs === 'event' ? 'an ERROR event' : 'the HTTP status'}) and misses nothing`, async () => {
      api.goneAs = goneAs
      api.apply('ADDED', sliceOf('orders', 'orders-abc', [{ name: 'orders-1', ip: '10.0.0.1' }]))
      const seen: string[][] = []
      const watch = registry.watch('orders', (list) => seen.push(ids(list)))
      await waitFor(() => seen.length === 1)
      // The watch ends; meanwhile a pod joins and the server forgets the history it would need.
      api.endWatches()
      api.apply('MODIFIED', sliceOf('orders', 'orders-abc', [{ name: 'orders-1', ip: '10.0.0.1' }, { name: 'orders-2', ip: '10.0.0.2' }]))
      api.compact()
      await waitFor(() => seen.length === 2)
      watch.close()
      expect(seen).toEqual([['orders-1'], ['orders-1', 'orders-2']])
      const lists = api.requests.filter((r) => !r.includes('watch=1'))
      expect(lists.length).toBeGreaterThanOrEqual(2)
    })
  }

  it('names a refused token and what the service account needs', async () => {
    const wrong = new KubernetesRegistry({ apiServer: api.url, token: 'stale', namespace: 'shop' })
    const error = await wrong.instances('orders').catch((e: unknown) => e)
    expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_REGISTRY_REJECTED')).toBe(true)
    expect(String(error)).toContain('answered GET /apis/discovery.k8s.io/v1/namespaces/shop/endpointslices with 401 (the token is invalid or expired)')
  })

  it('reports a watch error and keeps retrying until the API server answers', async () => {
    const errors: unknown[] = []
    const wrongThenRight = { value: 'stale' }
    const flaky = new KubernetesRegistry({ apiServer: api.url, token: () => wrongThenRight.value, namespace: 'shop', retryDelay: 20 })
    api.apply('ADDED', sliceOf('orders', 'orders-abc', [{ name: 'orders-1', ip: '10.0.0.1' }]))
    const seen: number[] = []
    const watch = flaky.watch('orders', (list) => seen.push(list.length), (error) => errors.push(error))
    await waitFor(() => errors.length >= 2)
    wrongThenRight.value = api.token
    await waitFor(() => seen.length === 1)
    watch.close()
    await flaky.close()
    expect(seen).toEqual([1])
  })

  it('leaves registration to Kubernetes: register, renew and deregister change nothing', async () => {
    await registry.register(instanceOf('orders'))
    await registry.renew(instanceOf('orders'))
    await registry.deregister('orders', 'x')
    expect(await registry.instances('orders')).toEqual([])
  })

  it('refuses to guess an API server outside a pod', () => {
    const saved = process.env.KUBERNETES_SERVICE_HOST
    delete process.env.KUBERNETES_SERVICE_HOST
    try {
      expect(() => new KubernetesRegistry({ namespace: 'shop', token: 't' })).toThrow('KubernetesRegistry: no apiServer given and KUBERNETES_SERVICE_HOST is not set (not running in a pod)')
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved
    }
  })
})

async function waitFor(condition: () => boolean, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
