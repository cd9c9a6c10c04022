import type { ServiceInstance } from './instance.js'

/** Hears the full, current list of a service's instances, once at first and after every change. */
export type InstancesListener = (instances: readonly ServiceInstance[]) => void

/** A running watch; `close()` stops it. */
export interface Watch {
  close(): void
}

/**
 * Where instances register and are found: the contract every backend (memory, Redis, Consul,
 * Kubernetes) fulfils, checked by one conformance suite.
 *
 * - `register` adds or replaces an instance (the same call updates health and the draining mark)
 *   and starts its lease; `renew` extends the lease, and re-creates the registration if the lease
 *   lapsed meanwhile. An instance whose lease lapses vanishes: that is how a crashed one leaves.
 * - `watch` calls the listener with the current list, then again whenever an instance comes,
 *   goes or changes; it calls `onError` when the registry cannot be read, and keeps trying.
 *
 * @example
 * const registry: Registry = new MemoryRegistry({ ttl: 15_000 })
 * await registry.register(instance)
 * const watch = registry.watch('orders', (instances) => console.log(instances.length))
 * watch.close()
 */
export interface Registry {
  /** `memory`, `redis`, `consul` or `kubernetes`, for logs and health details. */
  readonly kind: string
  /** How long a registration lives without a renewal, in milliseconds. */
  readonly ttl: number
  register(instance: ServiceInstance): Promise<void>
  renew(instance: ServiceInstance): Promise<void>
  deregister(service: string, id: string): Promise<void>
  instances(service: string): Promise<ServiceInstance[]>
  watch(service: string, listener: InstancesListener, onError?: (error: unknown) => void): Watch
  /** Stops every watch and lease timer and closes connections the registry opened. */
  close(): Promise<void>
}

/** Sorted by id so that two reads of the same state compare equal. */
export function sortInstances(instances: ServiceInstance[]): ServiceInstance[] {
  return instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** A fingerprint of a list, so that a watch calls its listener only when something changed. */
export function fingerprint(instances: readonly ServiceInstance[]): string {
  return JSON.stringify(instances)
}
