/**
 * The Redis tier (ioredis): entries as strings with a PX expiry, tags as sets of keys, a short
 * lease per key for stampede protection across instances, and a pub/sub channel on which every
 * instance announces what it changed so that the others drop their memory copies.
 *
 * When Redis is unreachable, commands fail at once (no offline queue) and the cache goes on
 * with its memory tier; ioredis keeps reconnecting, and `onRecovered` fires once it is back.
 */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type * as IORedis from 'ioredis'
import type { Redis } from 'ioredis'

// ioredis is loaded when the first client is made, not at import: an app that runs without Redis
// does not pay for loading it at start (about 200 ms of CPU). It is CommonJS: a synchronous require.
const ioredis = () => createRequire(import.meta.url)('ioredis') as typeof IORedis

/** What one instance tells the others: keys changed, a namespace cleared, tags invalidated. */
export interface Invalidation {
  /** The sending instance, so that it ignores its own messages. */
  readonly i: string
  readonly k?: readonly string[]
  readonly n?: string
  readonly t?: readonly string[]
}

export interface RedisTierOptions {
  /** redis:// or rediss:// URL, when no client is given. */
  readonly url?: string
  /** A client to use (and not to close). */
  readonly client?: Redis
  readonly prefix: string
  readonly instanceId: string
  /** A message from another instance. */
  onInvalidation(message: Invalidation): void
  /** Redis is reachable again after an outage (invalidations may have been missed meanwhile). */
  onRecovered(): void
  /** Redis became unreachable. */
  onLost(error: Error | undefined): void
}

// Sets the value and adds its key to each tag's set, stretching a set's expiry to its longest member's.
const setTagged = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local px = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl == -1 or ttl < px then redis.call('PEXPIRE', KEYS[i], px) end
end
return 1`

// Drops every key of each tag's set, then the sets.
const dropTagged = `
local n = 0
for i = 1, #KEYS do
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[i])) do n = n + redis.call('UNLINK', key) end
  redis.call('UNLINK', KEYS[i])
end
return n`

// Releases a lease only when it is still ours (it may have expired and been taken since).
const releaseLease = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

const globChars = /[*?[\]\\]/g

export class RedisTier {
  readonly #client: Redis
  readonly #subscriber: Redis
  readonly #owned: boolean
  readonly #options: RedisTierOptions
  readonly #channel: string
  readonly #values: string
  // The Redis keys of the values read lately: ioredis measures and writes each argument, which
  // flattens a fresh concatenation into a copy on every read.
  readonly #valueKeys = new Map<string, string>()
  readonly #leases: string
  readonly #tags: string
  #down = false
  #closed = false
  #lastError: Error | undefined

  constructor(options: RedisTierOptions) {
    this.#options = options
    this.#owned = options.client === undefined
    const base = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: (times: number) => Math.min(times * 100, 2_000) }
    this.#client = options.client ?? new (ioredis().Redis)(options.url ?? 'redis://127.0.0.1:6379', base)
    // The subscriber queues its SUBSCRIBE until connected, and ioredis subscribes again after each reconnect.
    this.#subscriber = this.#client.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null, connectTimeout: 2_000, retryStrategy: base.retryStrategy })
    this.#channel = `${options.prefix}:invalidations`
    this.#values = `${options.prefix}:v:`
    this.#leases = `${options.prefix}:l:`
    this.#tags = `${options.prefix}:t:`
    for (const connection of [this.#client, this.#subscriber]) {
      connection.on('error', (error: Error) => this.#lost(error))
      connection.on('close', () => this.#lost(undefined))
      connection.on('ready', () => this.#ready())
    }
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return
      let message: Invalidation
      try {
        message = JSON.parse(text) as Invalidation
      } catch {
        return
      }
      if (message.i !== options.instanceId) options.onInvalidation(message)
    })
  }

  /** Whether both connections are up: reads and writes go to Redis. */
  get available(): boolean {
    return this.#client.status === 'ready' && this.#subscriber.status === 'ready'
  }

  /** Why Redis was last unreachable. */
  get lastError(): Error | undefined {
    return this.#lastError
  }

  /** Connects; when Redis is unreachable resolves anyway (degraded) and keeps trying in the background. */
  async connect(): Promise<void> {
    const connect = (connection: Redis) => (connection.status === 'wait' ? connection.connect().catch((error: unknown) => this.#lost(error as Error)) : Promise.resolve())
    await Promise.all([connect(this.#client), connect(this.#subscriber)])
    const subscribed = this.#subscriber.subscribe(this.#channel).catch((error: unknown) => this.#lost(error as Error))
    // Unreachable: the SUBSCRIBE waits in the subscriber's queue for the connection, and start goes on degraded.
    if (this.#subscriber.status === 'ready') await subscribed
  }

  get(key: string): Promise<string | null> {
    let stored = this.#valueKeys.get(key)
    if (stored === undefined) {
      if (this.#valueKeys.size >= 10_000) this.#valueKeys.clear()
      this.#valueKeys.set(key, (stored = this.#values + key))
    }
    return this.#client.get(stored)
  }

  async set(key: string, text: string, px: number, tags: readonly string[] | undefined): Promise<void> {
    const ms = Math.max(1, Math.ceil(px))
    if (tags === undefined || tags.length === 0) await this.#client.set(this.#values + key, text, 'PX', ms)
    else await this.#client.eval(setTagged, 1 + tags.length, this.#values + key, ...tags.map((tag) => this.#tags + tag), text, ms)
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.#client.unlink(...keys.map((key) => this.#values + key))
  }

  /** Drops every entry of a namespace (SCAN, so Redis is never blocked). */
  async deleteNamespace(namespace: string): Promise<void> {
    const match = `${this.#values}${namespace}:*`.replace(globChars, (char) => `\\${char}`).replace(/\\\*$/, '*')
    let cursor = '0'
    do {
      const [next, keys] = await this.#client.scan(cursor, 'MATCH', match, 'COUNT', 500)
      if (keys.length > 0) await this.#client.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  }

  async deleteTags(tags: readonly string[]): Promise<void> {
    if (tags.length > 0) await this.#client.eval(dropTagged, tags.length, ...tags.map((tag) => this.#tags + tag))
  }

  /** Takes the lease on a key for `ms`; resolves to its token, or undefined when another holds it. */
  async acquire(key: string, ms: number): Promise<string | undefined> {
    const token = randomUUID()
    const taken = await this.#client.set(this.#leases + key, token, 'PX', Math.max(1, Math.ceil(ms)), 'NX')
    return taken === 'OK' ? token : undefined
  }

  async release(key: string, token: string): Promise<void> {
    await this.#client.eval(releaseLease, 1, this.#leases + key, token)
  }

  async publish(message: Omit<Invalidation, 'i'>): Promise<void> {
    await this.#client.publish(this.#channel, JSON.stringify({ i: this.#options.instanceId, ...message }))
  }

  /**
   * One round trip and the server's eviction settings, for the preflight: connects the command
   * connection if it is not yet, and rejects with the connection's error when Redis cannot be
   * reached. CONFIG may be disabled (managed Redis): the settings are then undefined.
   */
  async inspect(): Promise<{ latency: number; policy: string | undefined; maxmemory: number | undefined; version: string | undefined }> {
    let latency = Number.POSITIVE_INFINITY
    try {
      if (this.#client.status === 'wait') await this.#client.connect()
      // The best of five round trips a few milliseconds apart: the first after connecting pays
      // for warming up, and one taken while this process is busy measures the process, not Redis.
      for (let i = 0; i < 5; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 5))
        const began = performance.now()
        await this.#client.ping()
        latency = Math.min(latency, performance.now() - began)
      }
    } catch (error) {
      // ioredis reports "Connection is closed"; the connection's own error says why.
      const cause = this.#lastError ?? (error as Error)
      const where = (this.#options.url ?? 'redis://127.0.0.1:6379').replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
      throw Object.assign(new Error(`Redis at ${where} is unreachable: ${cause.message}`, { cause }), { code: (cause as { code?: string }).code })
    }
    const config = async (name: string) => ((await this.#client.call('CONFIG', 'GET', name).catch(() => [])) as string[])[1]
    const [policy, maxmemory, info] = await Promise.all([config('maxmemory-policy'), config('maxmemory'), this.#client.info('server').catch(() => '')])
    return { latency, policy, maxmemory: maxmemory === undefined ? undefined : Number(maxmemory), version: /redis_version:([^\r\n]+)/.exec(info)?.[1] }
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect())
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect())
  }

  #lost(error: Error | undefined): void {
    if (error) this.#lastError = error
    if (this.#closed || this.#down) return
    this.#down = true
    this.#options.onLost(error)
  }

  #ready(): void {
    if (!this.#down || !this.available) return
    this.#down = false
    this.#lastError = undefined
    this.#options.onRecovered()
  }
}
