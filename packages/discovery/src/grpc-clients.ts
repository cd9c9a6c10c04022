import type { ServiceDiscovery } from './discovery.js'
import { discoveryErrors } from './errors.js'
import type { ServiceInstance } from './instance.js'

/** What a generated gRPC client (grpc-js) has that this needs: a way to close its channel. */
export interface ClosableClient {
  close(): void
}

/** Options of {@link ServiceGrpcClients}. */
export interface GrpcClientsOptions {
  /** Which of an instance's addresses serves gRPC. Default `grpc`. */
  address?: string
  /** Further attempts on other instances for an idempotent call. Default 2. */
  retries?: number
}

/** Per call: whether it may be retried elsewhere, and the consistent-hashing key. */
export interface GrpcCallOptions {
  idempotent?: boolean
  key?: string
}

// gRPC status codes that say "this instance cannot serve now": UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED. Anything else is the application's answer, not the instance's failure.
const instanceFailures = new Set([14, 4, 8])

/**
 * A gRPC channel factory over discovery: one client (one channel) per instance, made by your
 * generated client's constructor and kept while the instance is registered; each call picks an
 * instance with the service's strategy, reports UNAVAILABLE, DEADLINE_EXCEEDED and
 * RESOURCE_EXHAUSTED to the instance's breaker, and retries an idempotent call on another
 * instance. No gRPC library is imported here: the constructor you pass brings its own.
 *
 * @example
 * const orders = new ServiceGrpcClients(discovery, 'orders', (target) => new OrdersClient(target, credentials.createInsecure()))
 * const order = await orders.call((client) => promisify(client.getOrder.bind(client))({ id: '42' }), { idempotent: true })
 * orders.close()
 */
export class ServiceGrpcClients<Client extends ClosableClient> {
  readonly #discovery: ServiceDiscovery
  readonly #service: string
  readonly #create: (target: string, instance: ServiceInstance) => Client
  readonly #address: string
  readonly #retries: number
  readonly #clients = new Map<string, { target: string; client: Client }>()
  readonly #watch: { close(): void }

  constructor(discovery: ServiceDiscovery, service: string, create: (target: string, instance: ServiceInstance) => Client, options: GrpcClientsOptions = {}) {
    this.#discovery = discovery
    this.#service = service
    this.#create = create
    this.#address = options.address ?? 'grpc'
    this.#retries = options.retries ?? 2
    if (!Number.isInteger(this.#retries) || this.#retries < 0) {
      throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_OPTION', `ServiceGrpcClients: retries must be a non-negative integer; got ${String(this.#retries)}`, { details: { option: 'retries' } })
    }
    // Channels of instances that left are closed, so they do not reconnect forever.
    this.#watch = discovery.watch(service, (instances) => {
      const present = new Set(instances.map((i) => i.id))
      for (const [id, { client }] of this.#clients) {
        if (present.has(id)) continue
        client.close()
        this.#clients.delete(id)
      }
    })
  }

  /** Runs `call` with the client of a picked instance; see the class for retries. */
  async call<T>(call: (client: Client, instance: ServiceInstance) => Promise<T>, options: GrpcCallOptions = {}): Promise<T> {
    const attempts = options.idempotent === true ? 1 + this.#retries : 1
    const tried = new Set<string>()
    const failures: string[] = []
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let lease
      try {
        lease = await this.#discovery.acquire(this.#service, { exclude: tried, ...(options.key === undefined ? {} : { key: options.key }) })
      } catch (error) {
        if (failures.length === 0) throw error
        break
      }
      const { instance } = lease
      tried.add(instance.id)
      const client = this.#clientOf(instance)
      if (client === undefined) {
        lease.release('success')
        failures.push(`${instance.id}: has no "${this.#address}" address`)
        continue
      }
      try {
        const result = await call(client, instance)
        lease.release('success')
        return result
      } catch (error) {
        const code = (error as { code?: unknown }).code
        if (typeof code !== 'number' || !instanceFailures.has(code)) {
          lease.release('success')
          throw error
        }
        lease.release('failure', error)
        failures.push(`${instance.id}: ${error instanceof Error ? error.message : String(error)}`)
        if (attempts === 1) throw error
      }
    }
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_REQUEST_FAILED', `gRPC call to "${this.#service}" failed on every instance tried: ${failures.join('; ')}`, { details: { service: this.#service, failures } })
  }

  /** Closes every channel. */
  close(): void {
    this.#watch.close()
    for (const { client } of this.#clients.values()) client.close()
    this.#clients.clear()
  }

  #clientOf(instance: ServiceInstance): Client | undefined {
    const address = instance.addresses[this.#address]
    if (address === undefined) return undefined
    // grpc-js targets are host:port; the registered address is a URL (grpc://host:port).
    const target = new URL(address).host
    const known = this.#clients.get(instance.id)
    if (known?.target === target) return known.client
    known?.client.close()
    const client = this.#create(target, instance)
    this.#clients.set(instance.id, { target, client })
    return client
  }
}
