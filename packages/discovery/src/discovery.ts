import { CircuitBreaker, describeError, type Logger } from '@plinth/core'
import { createBalancer, type Balancer, type PickContext, type Strategy } from './balancers.js'
import type { InstancesListener, Registry, Watch } from './contract.js'
import { discoveryErrors } from './errors.js'
import { probeGrpc, probeHttp, type HealthProbeOptions } from './health-probe.js'
import { isRoutable, type ServiceInstance } from './instance.js'

/** How one service is balanced, probed and ejected. */
export interface ServiceSettings {
  /** Default round-robin. */
  strategy?: Strategy
  /** Remote health checks of its instances; false turns them off. Default: HTTP /health/ready every 10 s. */
  healthCheck?: HealthProbeOptions | false
  /** Outlier ejection: a circuit breaker per instance. */
  ejection?: {
    /** Consecutive failures (calls or probes) that eject an instance. Default 3. */
    failures?: number
    /** How long an ejected instance sits out before a trial call or probe may readmit it, in ms. Default 30 000. */
    duration?: number
  }
}

/** Options of {@link ServiceDiscovery}. */
export interface ServiceDiscoveryOptions {
  registry: Registry
  /** Settings per service name. */
  services?: Readonly<Record<string, ServiceSettings>>
  /** Settings of services not named in `services`. */
  defaults?: ServiceSettings
  log?: Logger
}

/** An instance taken for one call; `release` reports the outcome to its breaker and balancer. */
export interface InstanceLease {
  readonly instance: ServiceInstance
  release(outcome: 'success' | 'failure', error?: unknown): void
}

/** What a service looks like from here: its instances with their breaker state, for /cluster pages. */
export interface ServiceView {
  readonly service: string
  readonly strategy: Strategy
  readonly instances: readonly (ServiceInstance & { readonly routable: boolean; readonly breaker: 'closed' | 'open' | 'half-open' })[]
}

interface Tracked {
  readonly settings: ServiceSettings
  readonly balancer: Balancer
  readonly breakers: Map<string, CircuitBreaker>
  readonly listeners: Set<InstancesListener>
  instances: readonly ServiceInstance[]
  ready: Promise<void>
  watch: Watch
  probes: NodeJS.Timeout | undefined
}

/**
 * The client side of discovery: a live view of each service it is asked about (one registry
 * watch per service, opened on first use), a balancer per service, a circuit breaker per
 * instance that ejects outliers after consecutive failures and readmits them when healthy, and
 * remote health probes of every instance.
 *
 * @example
 * const discovery = new ServiceDiscovery({ registry, services: { orders: { strategy: 'least-connections' } } })
 * const lease = await discovery.acquire('orders')
 * try {
 *   await call(lease.instance.addresses.http)
 *   lease.release('success')
 * } catch (error) {
 *   lease.release('failure', error)
 * }
 */
export class ServiceDiscovery {
  readonly registry: Registry
  readonly #options: ServiceDiscoveryOptions
  readonly #services = new Map<string, Tracked>()
  #closed = false

  constructor(options: ServiceDiscoveryOptions) {
    this.registry = options.registry
    this.#options = options
    for (const [service, settings] of Object.entries(options.services ?? {})) {
      if (settings.strategy !== undefined) createBalancer(settings.strategy, `services.${service}.strategy`)
    }
    if (options.defaults?.strategy !== undefined) createBalancer(options.defaults.strategy, 'defaults.strategy')
  }

  /** Every registered instance of the service, routable or not (waits for the first list once). */
  async instances(service: string): Promise<readonly ServiceInstance[]> {
    const tracked = this.#track(service)
    await tracked.ready
    return tracked.instances
  }

  /** Instances that may take new work: registered healthy, not draining, not ejected. */
  async routable(service: string): Promise<ServiceInstance[]> {
    const tracked = this.#track(service)
    await tracked.ready
    return tracked.instances.filter((instance) => isRoutable(instance) && this.#breaker(tracked, service, instance.id).state !== 'open')
  }

  /**
   * Picks an instance with the service's strategy, skipping those in `exclude` (already tried),
   * and takes it for one call. Throws PLINTH_ERR_DISCOVERY_NO_INSTANCE when none is left.
   */
  async acquire(service: string, context: PickContext & { exclude?: ReadonlySet<string> } = {}): Promise<InstanceLease> {
    const tracked = this.#track(service)
    await tracked.ready
    let candidates = (await this.routable(service)).filter((instance) => !context.exclude?.has(instance.id))
    while (candidates.length > 0) {
      const instance = tracked.balancer.pick(candidates, context)!
      const breaker = this.#breaker(tracked, service, instance.id)
      // A half-open breaker lets one trial call through; the others go elsewhere meanwhile.
      if (!breaker.tryAcquire()) {
        candidates = candidates.filter((c) => c !== instance)
        continue
      }
      tracked.balancer.begin(instance)
      let released = false
      return {
        instance,
        release: (outcome, error) => {
          if (released) return
          released = true
          tracked.balancer.end(instance)
          if (outcome === 'success') breaker.success()
          else breaker.failure(error)
        },
      }
    }
    const all = tracked.instances
    const why = all.length === 0 ? 'none is registered' : `${all.length} registered, none routable (${all.map((i) => `${i.id}: ${this.#why(tracked, service, i, context.exclude)}`).join('; ')})`
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_NO_INSTANCE', `no instance of "${service}" to call: ${why}`, { details: { service } })
  }

  /** Hears the service's instance list: now, and after every change. */
  watch(service: string, listener: InstancesListener): Watch {
    const tracked = this.#track(service)
    tracked.listeners.add(listener)
    void tracked.ready.then(() => {
      if (tracked.listeners.has(listener)) listener(tracked.instances)
    })
    return { close: () => void tracked.listeners.delete(listener) }
  }

  /** Every service asked about so far, with its instances and their breaker state. */
  views(): ServiceView[] {
    return [...this.#services].map(([service, tracked]) => ({
      service,
      strategy: tracked.balancer.strategy,
      instances: tracked.instances.map((instance) => {
        const breaker = this.#breaker(tracked, service, instance.id).state
        return { ...instance, routable: isRoutable(instance) && breaker !== 'open', breaker }
      }),
    }))
  }

  /** The breaker of one instance, for tests and operators (`reset()` readmits at once). */
  breaker(service: string, id: string): CircuitBreaker {
    return this.#breaker(this.#track(service), service, id)
  }

  /** Stops every watch and probe; the registry itself is closed by its owner. */
  close(): void {
    this.#closed = true
    for (const tracked of this.#services.values()) {
      tracked.watch.close()
      clearInterval(tracked.probes)
    }
    this.#services.clear()
  }

  #track(service: string): Tracked {
    if (this.#closed) throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_CLOSED', `discovery is closed; cannot look up "${service}"`)
    const known = this.#services.get(service)
    if (known) return known
    const settings = { ...this.#options.defaults, ...this.#options.services?.[service] }
    let firstList: () => void = () => {}
    const tracked: Tracked = {
      settings,
      balancer: createBalancer(settings.strategy ?? 'round-robin', `services.${service}.strategy`),
      breakers: new Map(),
      listeners: new Set(),
      instances: [],
      ready: new Promise<void>((resolve) => (firstList = resolve)),
      watch: { close: () => {} },
      probes: undefined,
    }
    this.#services.set(service, tracked)
    let complained = false
    tracked.watch = this.registry.watch(
      service,
      (instances) => {
        complained = false
        tracked.instances = instances
        for (const id of tracked.breakers.keys()) if (!instances.some((i) => i.id === id)) tracked.breakers.delete(id)
        firstList()
        for (const listener of tracked.listeners) listener(instances)
      },
      (error) => {
        // Said once per outage: the watch keeps retrying, and the last known list stays in use.
        if (!complained) this.#options.log?.warn({ reason: describeError(error), service }, `cannot read the instances of "${service}" from the ${this.registry.kind} registry (${describeError(error)}); using the last known list while retrying`)
        complained = true
        firstList()
      },
    )
    const probe = settings.healthCheck === false ? undefined : { ...settings.healthCheck }
    if (probe) {
      tracked.probes = setInterval(() => void this.#probeAll(tracked, service, probe), probe.interval ?? 10_000)
      tracked.probes.unref()
    }
    return tracked
  }

  async #probeAll(tracked: Tracked, service: string, probe: HealthProbeOptions): Promise<void> {
    await Promise.all(
      tracked.instances.map(async (instance) => {
        const breaker = this.#breaker(tracked, service, instance.id)
        if (breaker.state === 'open' || !breaker.tryAcquire()) return
        const kind = probe.kind ?? 'http'
        const address = instance.addresses[probe.address ?? kind]
        if (address === undefined) return breaker.success()
        const signal = AbortSignal.timeout(probe.timeout ?? 2_000)
        try {
          if (kind === 'grpc') await probeGrpc(address, probe.grpcService ?? '', signal)
          else await probeHttp(new URL(probe.path ?? '/health/ready', address).href, signal)
          breaker.success()
        } catch (error) {
          breaker.failure(error)
        }
      }),
    )
  }

  #breaker(tracked: Tracked, service: string, id: string): CircuitBreaker {
    let breaker = tracked.breakers.get(id)
    if (breaker) return breaker
    const ejection = tracked.settings.ejection
    breaker = new CircuitBreaker(`${service}/${id}`, { failureThreshold: ejection?.failures ?? 3, resetTimeout: ejection?.duration ?? 30_000 })
    breaker.onChange((from, to, snapshot) => {
      const log = this.#options.log
      // Ejected once per outage: a failed trial while half-open keeps it out, at debug.
      if (to === 'open' && from === 'closed') log?.warn({ service, instance: id, lastError: snapshot.lastError }, `ejected ${service}/${id} after ${snapshot.failures} consecutive failures (last: ${snapshot.lastError ?? 'unknown'})`)
      else if (to === 'closed' && from !== 'closed') log?.info({ service, instance: id }, `readmitted ${service}/${id}: healthy again`)
      else log?.debug({ service, instance: id, lastError: snapshot.lastError }, `${service}/${id}: circuit ${from} -> ${to}`)
    })
    tracked.breakers.set(id, breaker)
    return breaker
  }

  #why(tracked: Tracked, service: string, instance: ServiceInstance, exclude: ReadonlySet<string> | undefined): string {
    if (exclude?.has(instance.id)) return 'already tried'
    if (instance.draining) return 'draining'
    if (instance.health === 'critical') return 'critical'
    const breaker = this.#breaker(tracked, service, instance.id).snapshot()
    if (breaker.state === 'open') return `ejected (${breaker.lastError ?? 'failures'})`
    return 'trial call in flight'
  }
}
