import { createRequire } from 'node:module'
import type * as IORedis from 'ioredis'
import type { Redis, RedisOptions } from 'ioredis'
import { fingerprint, sortInstances, type InstancesListener, type Registry, type Watch } from './contract.js'
import { discoveryErrors } from './errors.js'
import { checkInstance, normalizeInstance, type ServiceInstance } from './instance.js'
import { positiveTtl } from './memory.js'

// ioredis is loaded when the first client is made, not at import: an app that runs without Redis
// does not pay for loading it at start (about 200 ms of CPU). It is CommonJS: a synchronous require.
const ioredis = () => createRequire(import.meta.url)('ioredis') as typeof IORedis

/** Options of {@link RedisRegistry}. */
export interface RedisRegistryOptions {
  /** redis://host:port/db; or pass `client`. Default redis://127.0.0.1:6379. */
  url?: string
  /** A client of your own; it is not closed by `close()`. */
  client?: Redis
  /** Prefix of every key and channel. Default `plinth:discovery`. */
  prefix?: string
  /** Lease of a registration without renewal, in milliseconds. Default 15 000. */
  ttl?: number
}

// Sets the instance with its lease, adds it to the service's members, and publishes a change
// only when the stored instance differs, all in one step so that two renewals never race.
const registerScript = `
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 4)
if old ~= ARGV[1] then redis.call('PUBLISH', KEYS[3], ARGV[3]) end
return old and 1 or 0`

const renewScript = `
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1]) * 4)
return 1`

/**
 * The registry on Redis, the multi-instance default: each instance is a key with a TTL (its
 * lease), the service's members a set, and changes a pub/sub message on the service's channel.
 * A crashed instance stops renewing and its key expires; watchers learn of that at their next
 * read, which they do once per TTL (Redis does not announce expiries unless keyspace
 * notifications are on, and turning them on is the operator's call, not a library's).
 *
 * @example
 * const registry = new RedisRegistry({ url: process.env.REDIS_URL, ttl: 15_000 })
 * const watch = registry.watch('orders', (instances) => console.log(instances.map((i) => i.id)))
 * watch.close()
 * await registry.close()
 */
export class RedisRegistry implements Registry {
  readonly kind = 'redis'
  readonly ttl: number
  readonly #client: Redis
  readonly #ownClient: boolean
  readonly #prefix: string
  #subscriber: Redis | undefined
  readonly #channels = new Map<string, Set<() => void>>()
  #closed = false

  constructor(options: RedisRegistryOptions = {}) {
    this.ttl = positiveTtl(options.ttl ?? 15_000, 'RedisRegistry')
    this.#prefix = options.prefix ?? 'plinth:discovery'
    this.#ownClient = options.client === undefined
    this.#client = options.client ?? new (ioredis().Redis)(options.url ?? 'redis://127.0.0.1:6379', clientOptions)
    // Connection errors surface as rejected calls (said once by whoever calls); without a
    // listener ioredis would print every reconnect attempt.
    if (this.#ownClient) this.#client.on('error', () => {})
  }

  async register(instance: ServiceInstance): Promise<void> {
    this.#open()
    const checked = normalizeInstance(checkInstance(instance))
    await this.#call(() => this.#client.eval(registerScript, 3, this.#instanceKey(checked.service, checked.id), this.#membersKey(checked.service), this.#channel(checked.service), JSON.stringify(checked), this.ttl, checked.id))
  }

  async renew(instance: ServiceInstance): Promise<void> {
    this.#open()
    const renewed = await this.#call(() => this.#client.eval(renewScript, 2, this.#instanceKey(instance.service, instance.id), this.#membersKey(instance.service), this.ttl))
    // The lease lapsed meanwhile (the registry was away longer than a TTL): register afresh.
    if (renewed === 0) await this.register(instance)
  }

  async deregister(service: string, id: string): Promise<void> {
    this.#open()
    await this.#call(() => this.#client.multi().del(this.#instanceKey(service, id)).srem(this.#membersKey(service), id).publish(this.#channel(service), id).exec())
  }

  async instances(service: string): Promise<ServiceInstance[]> {
    this.#open()
    const ids = await this.#call(() => this.#client.smembers(this.#membersKey(service)))
    if (ids.length === 0) return []
    const values = await this.#call(() => this.#client.mget(ids.map((id) => this.#instanceKey(service, id))))
    const lapsed = ids.filter((_, i) => values[i] === null)
    // Members whose lease lapsed are pruned by the first reader that notices.
    if (lapsed.length > 0) await this.#call(() => this.#client.srem(this.#membersKey(service), ...lapsed))
    return sortInstances(values.flatMap((value) => (value === null ? [] : [normalizeInstance(JSON.parse(value) as ServiceInstance)])))
  }

  watch(service: string, listener: InstancesListener, onError?: (error: unknown) => void): Watch {
    this.#open()
    let last: string | undefined
    let closed = false
    let reading = false
    let again = false
    const read = async () => {
      // One read at a time; a change during a read makes one more read after it.
      if (reading) return void (again = true)
      reading = true
      try {
        do {
          again = false
          const list = await this.instances(service)
          const print = fingerprint(list)
          if (!closed && print !== last) {
            last = print
            listener(list)
          }
        } while (again && !closed)
      } catch (error) {
        if (!closed && !this.#closed) onError?.(error)
      } finally {
        reading = false
      }
    }
    const onChange = () => void read()
    const channel = this.#channel(service)
    let listeners = this.#channels.get(channel)
    if (listeners === undefined) {
      this.#channels.set(channel, (listeners = new Set()))
      this.#subscribe(channel)
    }
    listeners.add(onChange)
    const poll = setInterval(onChange, this.ttl)
    poll.unref()
    void read()
    return {
      close: () => {
        closed = true
        clearInterval(poll)
        listeners.delete(onChange)
        if (listeners.size === 0) {
          this.#channels.delete(channel)
          this.#subscriber?.unsubscribe(channel).catch(() => {})
        }
      },
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#channels.clear()
    const subscriber = this.#subscriber
    this.#subscriber = undefined
    await Promise.all([subscriber ? quit(subscriber) : undefined, this.#ownClient ? quit(this.#client) : undefined])
  }

  #subscribe(channel: string): void {
    if (this.#subscriber === undefined) {
      const subscriber = this.#client.duplicate({ ...clientOptions, lazyConnect: false })
      subscriber.on('error', () => {})
      subscriber.on('message', (from: string) => {
        for (const onChange of this.#channels.get(from) ?? []) onChange()
      })
      // After a reconnect (ioredis resubscribes by itself), read again: changes may have been missed.
      subscriber.on('ready', () => {
        for (const listeners of this.#channels.values()) for (const onChange of listeners) onChange()
      })
      this.#subscriber = subscriber
    }
    this.#subscriber.subscribe(channel).catch(() => {})
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command()
    } catch (error) {
      if (this.#closed) throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_CLOSED', 'the redis registry is closed', { cause: error })
      throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE', `the redis registry at ${describeClient(this.#client)} did not answer: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }

  #open(): void {
    if (this.#closed) throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_CLOSED', 'the redis registry is closed')
  }

  // One hash tag per service keeps its keys and channel in one Redis Cluster slot, for the script.
  #instanceKey(service: string, id: string): string {
    return `${this.#prefix}:{${service}}:instance:${id}`
  }

  #membersKey(service: string): string {
    return `${this.#prefix}:{${service}}:members`
  }

  #channel(service: string): string {
    return `${this.#prefix}:{${service}}:changed`
  }
}

// Fail a command after one reconnect attempt instead of queueing it for twenty: the caller
// (self-registration, a watch) retries on its own schedule and says so.
const clientOptions: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times) => Math.min(times * 200, 2_000),
}

function describeClient(client: Redis): string {
  return `${client.options.host ?? '127.0.0.1'}:${client.options.port ?? 6379}`
}

async function quit(client: Redis): Promise<void> {
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}
