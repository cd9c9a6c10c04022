import { fingerprint, sortInstances, type InstancesListener, type Registry, type Watch } from './contract.js'
import { discoveryErrors } from './errors.js'
import { checkInstance, normalizeInstance, type ServiceInstance } from './instance.js'

/** Options of {@link MemoryRegistry}. */
export interface MemoryRegistryOptions {
  /** Lease of a registration without renewal, in milliseconds. Default 15 000. */
  ttl?: number
}

interface Entry {
  instance: ServiceInstance
  expiry: NodeJS.Timeout
}

/**
 * A registry in this process: for tests, and for several apps in one process. Leases lapse as
 * they do in Redis, so a test can show a "crashed" instance leaving.
 *
 * @example
 * const registry = new MemoryRegistry({ ttl: 1_000 })
 * await registry.register({ service: 'orders', id: 'a', addresses: { http: 'http://127.0.0.1:8001' }, version: '1', metadata: {}, health: 'passing', draining: false, weight: 1 })
 * console.log((await registry.instances('orders')).length) // 1
 * await registry.close()
 */
export class MemoryRegistry implements Registry {
  readonly kind = 'memory'
  readonly ttl: number
  readonly #services = new Map<string, Map<string, Entry>>()
  readonly #listeners = new Map<string, Set<() => void>>()
  #closed = false

  constructor(options: MemoryRegistryOptions = {}) {
    this.ttl = positiveTtl(options.ttl ?? 15_000, 'MemoryRegistry')
  }

  register(instance: ServiceInstance): Promise<void> {
    return settled(() => {
      this.#open()
      const checked = normalizeInstance(checkInstance(instance))
      const entries = this.#entries(checked.service)
      const previous = entries.get(checked.id)
      if (previous) clearTimeout(previous.expiry)
      entries.set(checked.id, { instance: checked, expiry: this.#lease(checked.service, checked.id) })
      if (previous === undefined || fingerprint([previous.instance]) !== fingerprint([checked])) this.#changed(checked.service)
    })
  }

  async renew(instance: ServiceInstance): Promise<void> {
    this.#open()
    const entry = this.#services.get(instance.service)?.get(instance.id)
    if (entry === undefined) return await this.register(instance)
    entry.expiry.refresh()
  }

  deregister(service: string, id: string): Promise<void> {
    return settled(() => {
      this.#open()
      const entries = this.#services.get(service)
      const entry = entries?.get(id)
      if (entries && entry) {
        clearTimeout(entry.expiry)
        entries.delete(id)
        this.#changed(service)
      }
    })
  }

  instances(service: string): Promise<ServiceInstance[]> {
    return settled(() => {
      this.#open()
      return this.#list(service)
    })
  }

  watch(service: string, listener: InstancesListener): Watch {
    this.#open()
    let last = ''
    const notify = () => {
      const list = this.#list(service)
      const print = fingerprint(list)
      if (print === last) return
      last = print
      listener(list)
    }
    let listeners = this.#listeners.get(service)
    if (listeners === undefined) this.#listeners.set(service, (listeners = new Set()))
    listeners.add(notify)
    // Asynchronously, as every other backend delivers its first list.
    queueMicrotask(() => {
      if (listeners.has(notify)) notify()
    })
    return { close: () => void listeners.delete(notify) }
  }

  close(): Promise<void> {
    return settled(() => {
      this.#closed = true
      for (const entries of this.#services.values()) for (const entry of entries.values()) clearTimeout(entry.expiry)
      this.#services.clear()
      this.#listeners.clear()
    })
  }

  #list(service: string): ServiceInstance[] {
    return sortInstances([...(this.#services.get(service)?.values() ?? [])].map((entry) => entry.instance))
  }

  #entries(service: string): Map<string, Entry> {
    let entries = this.#services.get(service)
    if (entries === undefined) this.#services.set(service, (entries = new Map()))
    return entries
  }

  #lease(service: string, id: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#services.get(service)?.delete(id)
      this.#changed(service)
    }, this.ttl)
    timer.unref()
    return timer
  }

  #changed(service: string): void {
    for (const notify of this.#listeners.get(service) ?? []) queueMicrotask(notify)
  }

  #open(): void {
    if (this.#closed) throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_CLOSED', `the ${this.kind} registry is closed`)
  }
}

/** Synchronous work as a promise: a thrown error becomes a rejection, as callers of a registry expect. */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

/** Throws PLINTH_ERR_DISCOVERY_INVALID_OPTION unless `ttl` is a positive number of milliseconds. */
export function positiveTtl(ttl: number, owner: string): number {
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_OPTION', `${owner}: ttl must be a positive number of milliseconds; got ${String(ttl)}`, { details: { option: 'ttl' } })
  }
  return ttl
}
