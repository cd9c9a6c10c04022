/** The cluster module in one process: the instance registers in memory and lists itself. */
import { expect, it } from 'vitest'
import { startService } from './service.js'

it('lists itself at /api/v1/cluster, registered with its HTTP and gRPC addresses, and relays to itself', async () => {
  await using service = await startService()
  let cluster = await service.rest('GET', '/api/v1/cluster')
  for (let i = 0; i < 50 && cluster.body.self.registration !== 'registered'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    cluster = await service.rest('GET', '/api/v1/cluster')
  }
  expect(cluster.status).toBe(200)
  expect(cluster.body.registry).toBe('memory')
  expect(cluster.body.self).toMatchObject({ registration: 'registered', draining: false })
  const [view] = cluster.body.services
  expect(view.service).toBe('reference')
  expect(view.instances).toHaveLength(1)
  expect(view.instances[0]).toMatchObject({ id: cluster.body.self.id, health: 'passing', routable: true, breaker: 'closed', addresses: { http: service.urls.http, grpc: service.urls.grpc } })
  const relay = await service.rest('GET', '/api/v1/cluster/relay')
  expect(relay.body).toEqual({ from: cluster.body.self.id, answeredBy: cluster.body.self.id, status: 200 })
})
