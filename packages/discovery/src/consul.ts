import { sleep } from '@plinth/core'
import { fingerprint, sortInstances, type InstancesListener, type Registry, type Watch } from './contract.js'
import { discoveryErrors } from './errors.js'
import { checkInstance, normalizeInstance, type InstanceHealth, type ServiceInstance } from './instance.js'
import { positiveTtl } from './memory.js'

/** Options of {@link ConsulRegistry}. */
export interface ConsulRegistryOptions {
  /** The local agent's HTTP API. Default http://127.0.0.1:8500. */
  address?: string
  /** An ACL token (X-Consul-Token). */
  token?: string
  /** The TTL of each instance's check: its lease. Default 15 000 ms. */
  ttl?: number
  /** How long Consul keeps an instance whose check stays critical before removing it. Default 60 000 ms (Consul's minimum). */
  deregisterAfter?: number
  /** The `wait` of a blocking query, in milliseconds. Default 30 000. */
  wait?: number
  /** Between reads when the agent answers without X-Consul-Index (no blocking possible). Default 5 000 ms. */
  fallbackInterval?: number
}

interface ConsulEntry {
  Node?: { Address?: string }
  Service: { ID: string; Service: string; Address?: string; Port?: number; Meta?: Record<string, string> | null; Weights?: { Passing?: number } }
  Checks?: { Status: string }[]
}

// What Consul's service model has no field for travels in Meta (keys: letters, digits, - and _).
const meta = { addresses: 'plinth-addresses', version: 'plinth-version', health: 'plinth-health', draining: 'plinth-draining' } as const

/**
 * The registry on Consul, over its HTTP API: each instance is an agent service with a TTL check
 * (its lease, passed at each renewal), found through `health/service/<name>?passing` with
 * blocking queries on `index` and `wait`, so a watch waits at the agent instead of polling.
 * An instance that stops renewing turns critical when its TTL lapses, leaves the passing list
 * at once, and is deregistered by Consul after `deregisterAfter`.
 *
 * @example
 * const registry = new ConsulRegistry({ address: 'http://127.0.0.1:8500', token: process.env.CONSUL_HTTP_TOKEN })
 * const watch = registry.watch('orders', (instances) => console.log(instances.length))
 * watch.close()
 */
export class ConsulRegistry implements Registry {
  readonly kind = 'consul'
  readonly ttl: number
  readonly #address: string
  readonly #token: string | undefined
  readonly #deregisterAfter: number
  readonly #wait: number
  readonly #fallbackInterval: number
  readonly #watches = new Set<AbortController>()
  #closed = false

  constructor(options: ConsulRegistryOptions = {}) {
    this.ttl = positiveTtl(options.ttl ?? 15_000, 'ConsulRegistry')
    this.#address = (options.address ?? 'http://127.0.0.1:8500').replace(/\/$/, '')
    this.#token = options.token
    this.#deregisterAfter = Math.max(60_000, options.deregisterAfter ?? 60_000)
    this.#wait = options.wait ?? 30_000
    this.#fallbackInterval = options.fallbackInterval ?? 5_000
  }

  async register(instance: ServiceInstance): Promise<void> {
    this.#open()
    const checked = normalizeInstance(checkInstance(instance))
    const primary = new URL(checked.addresses.http ?? Object.values(checked.addresses)[0]!)
    const body = {
      ID: checked.id,
      Name: checked.service,
      Address: primary.hostname.replace(/^\[|\]$/g, ''),
      Port: Number(primary.port || (primary.protocol === 'https:' ? 443 : 80)),
      Tags: checked.version === '' ? [] : [`version=${checked.version}`],
      Meta: {
        ...checked.metadata,
        [meta.addresses]: JSON.stringify(checked.addresses),
        [meta.version]: checked.version,
        [meta.health]: checked.health,
        [meta.draining]: String(checked.draining),
      },
      Weights: { Passing: checked.weight, Warning: 1 },
      Check: {
        CheckID: checkId(checked.id),
        Name: 'plinth lease',
        TTL: `${Math.ceil(this.ttl / 1000)}s`,
        // A registered critical instance is kept out of ?passing by Consul itself.
        Status: checked.health === 'critical' ? 'critical' : 'passing',
        DeregisterCriticalServiceAfter: `${Math.ceil(this.#deregisterAfter / 1000)}s`,
      },
    }
    await this.#request('PUT', '/v1/agent/service/register', body)
  }

  async renew(instance: ServiceInstance): Promise<void> {
    this.#open()
    const response = await this.#send('PUT', `/v1/agent/check/pass/${encodeURIComponent(checkId(instance.id))}`)
    await response.arrayBuffer()
    // The agent no longer knows the check (restarted, or deregistered us after a long outage).
    if (!response.ok) await this.register(instance)
  }

  async deregister(_service: string, id: string): Promise<void> {
    this.#open()
    await this.#request('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`)
  }

  async instances(service: string): Promise<ServiceInstance[]> {
    this.#open()
    const { instances } = await this.#read(service, undefined, undefined)
    return instances
  }

  watch(service: string, listener: InstancesListener, onError?: (error: unknown) => void): Watch {
    this.#open()
    const controller = new AbortController()
    this.#watches.add(controller)
    void this.#loop(service, listener, onError, controller.signal)
    return {
      close: () => {
        controller.abort()
        this.#watches.delete(controller)
      },
    }
  }

  close(): Promise<void> {
    this.#closed = true
    for (const controller of this.#watches) controller.abort()
    this.#watches.clear()
    return Promise.resolve()
  }

  async #loop(service: string, listener: InstancesListener, onError: ((error: unknown) => void) | undefined, signal: AbortSignal): Promise<void> {
    let index: number | undefined
    let last: string | undefined
    let failures = 0
    while (!signal.aborted) {
      try {
        const read = await this.#read(service, index, signal)
        failures = 0
        const print = fingerprint(read.instances)
        if (print !== last && !signal.aborted) {
          last = print
          listener(read.instances)
        }
        if (read.index === undefined) {
          // No X-Consul-Index: the answer cannot be blocked on, so read again after a pause
          // instead of in a tight loop.
          index = undefined
          await sleep(this.#fallbackInterval, signal).catch(() => undefined) // a stop cuts the wait short
        } else {
          // Consul's rules: an index that goes backwards resets to 0; an index is at least 1.
          index = index !== undefined && read.index < index ? 0 : Math.max(1, read.index)
        }
      } catch (error) {
        if (signal.aborted) return
        onError?.(error)
        index = undefined
        await sleep(Math.min(this.#fallbackInterval, 200 * 2 ** Math.min(failures++, 5)), signal).catch(() => undefined) // a stop cuts the wait short
      }
    }
  }

  async #read(service: string, index: number | undefined, signal: AbortSignal | undefined): Promise<{ instances: ServiceInstance[]; index: number | undefined }> {
    const query = new URLSearchParams({ passing: 'true' })
    if (index !== undefined) {
      query.set('index', String(index))
      query.set('wait', `${this.#wait}ms`)
    }
    const response = await this.#send('GET', `/v1/health/service/${encodeURIComponent(service)}?${query.toString()}`, undefined, signal)
    if (!response.ok) throw await this.#rejected(response, 'GET', `/v1/health/service/${service}`)
    const entries = (await response.json()) as ConsulEntry[]
    const header = response.headers.get('x-consul-index')
    const parsed = header === null ? Number.NaN : Number(header)
    return { instances: sortInstances(entries.map(instanceOf)), index: Number.isFinite(parsed) ? parsed : undefined }
  }

  async #request(method: string, path: string, body?: unknown): Promise<void> {
    const response = await this.#send(method, path, body)
    if (!response.ok) throw await this.#rejected(response, method, path)
    await response.arrayBuffer()
  }

  async #send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {}
    if (this.#token) headers['x-consul-token'] = this.#token
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await fetch(`${this.#address}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(signal ? { signal } : {}) })
    } catch (error) {
      if (signal?.aborted) throw error
      const cause = (error as { cause?: { code?: string } }).cause?.code
      throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE', `the consul agent at ${this.#address} did not answer ${method} ${path.split('?')[0]}${cause ? ` (${cause})` : ''}`, { cause: error })
    }
  }

  async #rejected(response: Response, method: string, path: string) {
    const text = (await response.text()).slice(0, 300)
    return discoveryErrors.create('PLINTH_ERR_DISCOVERY_REGISTRY_REJECTED', `the consul agent at ${this.#address} answered ${method} ${path} with ${response.status}: ${text}`, { details: { status: response.status } })
  }

  #open(): void {
    if (this.#closed) throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_CLOSED', 'the consul registry is closed')
  }
}

function checkId(id: string): string {
  return `service:${id}`
}

/** An entry of health/service as an instance; services registered by others get an http address from Address:Port. */
function instanceOf(entry: ConsulEntry): ServiceInstance {
  const service = entry.Service
  const data = service.Meta ?? {}
  const host = service.Address || entry.Node?.Address || '127.0.0.1'
  let addresses: Record<string, string>
  try {
    addresses = JSON.parse(data[meta.addresses] ?? '') as Record<string, string>
  } catch {
    addresses = { http: `http://${host.includes(':') ? `[${host}]` : host}:${service.Port ?? 80}` }
  }
  const checks = entry.Checks ?? []
  const fromChecks: InstanceHealth = checks.some((c) => c.Status === 'critical') ? 'critical' : checks.some((c) => c.Status === 'warning') ? 'warning' : 'passing'
  const declared = data[meta.health]
  const health: InstanceHealth = fromChecks !== 'passing' ? fromChecks : declared === 'warning' || declared === 'critical' ? declared : 'passing'
  const metadata = Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('plinth-')))
  return normalizeInstance({ service: service.Service, id: service.ID, addresses, version: data[meta.version] ?? '', metadata, health, draining: data[meta.draining] === 'true', weight: service.Weights?.Passing ?? 1 })
}
