import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { Application, Health, Logger, Metrics, optional, provide, token, type App, type HealthRegistry } from '@plinth/core'
import type { Registry } from './contract.js'
import { ServiceDiscovery, type ServiceSettings } from './discovery.js'
import { ServiceHttpClient, type HttpClientOptions } from './http-client.js'
import { checkInstance } from './instance.js'
import { MemoryRegistry } from './memory.js'
import { SelfRegistration } from './self-registration.js'

/**
 * The registry this app registers in and discovers from. Provide it to choose the backend; left
 * out, the app uses a registry in memory (one process).
 *
 * @example
 * provide(DiscoveryRegistry, {
 *   deps: { config: AppConfig },
 *   create: ({ config }) => new RedisRegistry({ url: config.redisUrl }),
 *   stop: (registry) => registry.close(),
 * })
 */
export const DiscoveryRegistry = token('discovery-registry').of<Registry>()

/** The running app's discovery: its own registration and its view of other services. */
export interface Discovery extends ServiceDiscovery {
  /** This instance's registration (undefined when `register: false`). */
  readonly self: SelfRegistration | undefined
}

/** Discovery from any component: `deps: { discovery: Discovery }`. */
export const Discovery = token('discovery').of<Discovery>()

/** Options of {@link discovery}. */
export interface DiscoveryOptions {
  /** Register this app (false: discover only). Default true. */
  register?: boolean
  /** The name it registers under. Default the app's name. */
  service?: string
  /** Default `<hostname>-<pid>-<random>`. */
  instanceId?: string
  /** Replaces a wildcard listen host (0.0.0.0, ::) in the registered addresses. Default: this machine's first external IPv4. */
  advertiseHost?: string
  /** Which announced endpoints to register. Default every one but `docs` and `metrics`. */
  endpoints?: (name: string) => boolean
  metadata?: Record<string, string>
  /** Share of traffic under weighted round robin, 1 to 1000. Default 1. */
  weight?: number
  /** Settings per discovered service: strategy, health checks, ejection. */
  services?: Record<string, ServiceSettings>
  /** Settings of services not named in `services`. */
  defaults?: ServiceSettings
}


/**
 * Service discovery as a component: once the app is ready it registers (name, instance id, each
 * server's address from the app's endpoints, version, metadata, health), renews its lease, marks
 * itself draining when shutdown is requested (before the drain delay, so clients stop picking
 * it before its listeners close) and deregisters at stop. An unreachable registry degrades the
 * component and is retried; the app serves meanwhile.
 *
 * @example
 * export const app = createApp({
 *   name: 'orders',
 *   components: [httpServer(), discovery({ services: { payments: { strategy: 'least-connections' } } }), serviceClient()],
 * })
 */
export function discovery(options: DiscoveryOptions = {}) {
  return provide(Discovery, {
    eager: true,
    deps: { app: Application, registry: optional(DiscoveryRegistry), health: Health, log: Logger },
    create: ({ app, registry: provided, health, log }): Discovery => {
      // Without a DiscoveryRegistry provider, the app gets a memory registry of its own.
      const ownRegistry = provided === undefined ? new MemoryRegistry() : undefined
      const registry = provided ?? ownRegistry!
      const description = {
        service: options.service ?? app.name,
        id: options.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
        version: app.version,
        metadata: options.metadata ?? {},
        weight: options.weight ?? 1,
        advertiseHost: options.advertiseHost,
        endpoints: options.endpoints,
      }
      // A bad name, id, weight or advertised host is a mistake in the code: fail the boot now,
      // instead of finding out at ready, when the servers' addresses are known.
      if (options.register !== false) {
        const host = options.advertiseHost === undefined ? '127.0.0.1' : options.advertiseHost.includes(':') ? `[${options.advertiseHost}]` : options.advertiseHost
        checkInstance({ ...description, addresses: { advertised: `http://${host}:1` }, health: 'passing', draining: false })
      }
      const self = options.register === false ? undefined : new SelfRegistration(registry, description, log)
      const view = new ServiceDiscovery({ registry, log, ...(options.services ? { services: options.services } : {}), ...(options.defaults ? { defaults: options.defaults } : {}) })
      const discovery = Object.assign(view, { self })
      wirings.set(discovery, { app, health, ownRegistry, unsubscribe: () => {} })
      return discovery
    },
    start: (discovery) => {
      const wiring = wirings.get(discovery)!
      const self = discovery.self
      if (self === undefined) return
      // Registration follows the lifecycle: at ready (every server has announced its address),
      // draining at shutdown-requested (before the drain delay and before any listener closes).
      const offLifecycle = wiring.app.events.subscribe((event) => {
        if (event.type === 'ready') self.begin(event.endpoints, event.degraded.length > 0 ? 'warning' : 'passing')
        else if (event.type === 'shutdown-requested') self.drain()
      })
      // The registered health follows the app's own readiness: a dependency down makes the
      // instance critical (clients skip it), degraded makes it warning, as Consul's checks would.
      const offHealth = wiring.health.events.subscribe((event) => {
        if (event.type !== 'check-completed' || !wiring.app.ready) return
        const readiness = wiring.health.readiness()
        self.setHealth(!readiness.ok ? 'critical' : readiness.status === 'degraded' ? 'warning' : 'passing')
      })
      wiring.unsubscribe = () => {
        offLifecycle()
        offHealth()
      }
    },
    stop: async (discovery) => {
      const wiring = wirings.get(discovery)!
      wiring.unsubscribe()
      await discovery.self?.end()
      discovery.close()
      await wiring.ownRegistry?.close()
    },
    health: (discovery) => {
      const self = discovery.self
      if (self === undefined) return 'up'
      const details = { registry: discovery.registry.kind, state: self.state, instance: self.instance?.id, addresses: self.instance?.addresses }
      if (self.state === 'registered' || self.state === 'unregistered' || self.state === 'deregistered') return { status: 'up', details }
      return { status: 'degraded', details: { ...details, error: self.lastError instanceof Error ? self.lastError.message : String(self.lastError) } }
    },
  })
}

/** What start and stop need besides the instance: the app, and the registry if this component made it. */
interface Wiring {
  readonly app: App
  readonly health: HealthRegistry
  readonly ownRegistry: MemoryRegistry | undefined
  unsubscribe: () => void
}
const wirings = new WeakMap<Discovery, Wiring>()

/**
 * The HTTP client that resolves `http://<service>/...` through discovery, as a component.
 *
 * @example
 * component('checkout', { deps: { http: ServiceClient }, create: ({ http }) => new Checkout((url) => http.fetch(url)) })
 */
export const ServiceClient = token('service-client').of<ServiceHttpClient>()

/**
 * The provider of ServiceClient; add it beside discovery().
 *
 * @example
 * createApp({ name: 'web', components: [discovery(), serviceClient({ timeout: 2_000, retries: 2 })] })
 */
export function serviceClient(options: Omit<HttpClientOptions, 'metrics'> = {}) {
  return provide(ServiceClient, {
    deps: { discovery: Discovery, metrics: Metrics },
    create: ({ discovery, metrics }) => new ServiceHttpClient(discovery, { ...options, metrics }),
  })
}
