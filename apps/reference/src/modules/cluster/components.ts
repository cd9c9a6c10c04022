import { Application, provide } from '@plinth/core'
import { Discovery, DiscoveryRegistry, MemoryRegistry, RedisRegistry, ServiceClient, discovery, serviceClient } from '@plinth/discovery'
import { Routes } from '@plinth/http'
import { AppConfig } from '../../config.js'
import { responses } from '../../openapi.js'

/** The registry: Redis when DISCOVERY_URL or REDIS_URL is set (several instances, one service), memory otherwise. */
export const clusterRegistry = provide(DiscoveryRegistry, {
  deps: { config: AppConfig },
  create: ({ config }) => {
    const url = config.cluster.url ?? config.redisUrl
    return url === undefined ? new MemoryRegistry({ ttl: config.cluster.ttl }) : new RedisRegistry({ url, prefix: config.cluster.prefix, ttl: config.cluster.ttl })
  },
  stop: (registry) => registry.close(),
})

/** This instance registers as `reference` and sees its peers; calls to them retry on another instance. */
export const clusterDiscovery = discovery({ services: {}, defaults: { healthCheck: { interval: 2_000, timeout: 1_000 }, ejection: { failures: 3, duration: 10_000 } } })

export const clusterClient = serviceClient({ timeout: 2_000, retries: 2 })

/**
 * GET /api/v1/cluster lists the instances of this service that this instance sees (with their
 * addresses, health, draining mark and breaker state); /whoami answers this instance's id;
 * /relay calls /whoami on an instance picked by the client, as service-to-service traffic does.
 */
export const clusterRoutes = provide(Routes, {
  deps: { discovery: Discovery, client: ServiceClient, app: Application },
  create: ({ discovery, client, app }) => ({
    prefix: '/api/v1/cluster',
    register: (http) => {
      const tags = ['cluster']
      http.get('/', { prefixTrailingSlash: 'no-slash', schema: { tags, response: responses({ 200: 'The instances, by service' }, [503]), summary: 'The instances of this service this instance sees' } }, async () => {
        await discovery.instances(app.name)
        const self = discovery.self
        return {
          self: self?.instance === undefined ? null : { id: self.instance.id, registration: self.state, draining: self.instance.draining },
          registry: discovery.registry.kind,
          services: discovery.views(),
        }
      })
      http.get('/whoami', { schema: { tags, response: responses({ 200: "This instance's id" }, [503]), summary: "This instance's id" } }, () => ({ id: discovery.self?.instance?.id ?? null }))
      http.get('/relay', { schema: { tags, response: responses({ 200: 'The answer of the instance called' }, [502, 503]), summary: 'Calls /whoami on an instance of this service picked by the client' } }, async () => {
        const response = await client.fetch(`http://${app.name}/api/v1/cluster/whoami`)
        const { id } = (await response.json()) as { id: string }
        return { from: discovery.self?.instance?.id ?? null, answeredBy: id, status: response.status }
      })
    },
  }),
})
