/**
 * The cache: a namespace's view of the shared tiers. Reads go memory first, then Redis; writes
 * go to both and are announced to the other instances. getOrSet runs its factory once per
 * instance per key (single flight) and, with Redis, once across instances (a lease).
 */
import { now } from './clock.js'
import { assertFaithfulJson } from './codec.js'
import type { CacheHealth, CacheOptions, GetOrSetOptions, NamespaceOptions, SetOptions } from './contract.js'
import type { Entry } from './entry.js'
import { cacheErrors } from './errors.js'
import type { Space } from './memory.js'
import type { TierCounters } from './stats.js'
import { Tiers } from './tiers.js'
import { checkDuration, checkKey, checkNamespace, checkTags } from './validate.js'

const silent = { info: () => undefined, warn: () => undefined }
// How often a waiting instance looks in Redis for the value another instance's lease is computing.
const pollInterval = 50

interface Resolved {
  ttl: number
  grace: number
  negativeTtl: number
  timeout: number | undefined
  lease: number
  codec: import('./codec.js').Codec | undefined
}

function resolveOptions(options: NamespaceOptions, where: string, parent?: Resolved): Resolved {
  for (const option of ['ttl', 'grace', 'negativeTtl', 'timeout', 'lease'] as const) checkDuration(options[option], option, where)
  const ttl = options.ttl ?? parent?.ttl ?? 60_000
  return {
    ttl,
    grace: options.grace ?? parent?.grace ?? 0,
    negativeTtl: options.negativeTtl ?? (options.ttl === undefined ? parent?.negativeTtl : undefined) ?? Math.min(ttl, 5_000),
    timeout: options.timeout ?? parent?.timeout,
    lease: options.lease ?? parent?.lease ?? 5_000,
    codec: options.codec ?? parent?.codec,
  }
}

/**
 * A typed cache over a memory tier and, when configured, Redis. Make one with `createCache` or
 * get the app's from the container (`deps: { cache: AppCache }`); `namespace()` gives views
 * with their own keys, defaults and counters over the same tiers.
 *
 * @example
 * const cache = createCache()
 * const users = cache.namespace('users', { ttl: 30_000, grace: 300_000 })
 * const user = await users.getOrSet(`user:${id}`, () => db.findUser(id), { tags: [`team:${teamId}`] })
 * await users.invalidateTags([`team:${teamId}`])
 */
export class Cache {
  /** The namespace this view reads and writes. */
  readonly name: string
  readonly #tiers: Tiers
  readonly #options: Resolved
  readonly #prefix: string
  readonly #memory: TierCounters
  readonly #redis: TierCounters
  /** This namespace's entries in the memory tier, looked up by the caller's key as it is. */
  readonly #space: Space
  // namespace:key strings already made, for Redis and the in-flight map: a key string the caller
  // passes again has its hash cached, where a fresh concatenation is flattened and hashed on every call.
  readonly #fullKeys = new Map<string, string>()

  /** @internal Use createCache() or namespace(). */
  constructor(tiers: Tiers, name: string, options: Resolved) {
    this.#tiers = tiers
    this.name = name
    this.#options = options
    this.#prefix = `${name}:`
    this.#memory = tiers.stats.counters(name, 'memory')
    this.#redis = tiers.stats.counters(name, 'redis')
    this.#space = tiers.memory.space(name)
  }

  /**
   * A view of the same tiers under another namespace, with its own defaults (inherited from
   * this one where not given).
   *
   * @example
   * const devices = cache.namespace('devices', { ttl: 10_000, codec: dateAware })
   */
  namespace(name: string, options: NamespaceOptions = {}): Cache {
    checkNamespace(name)
    return new Cache(this.#tiers, name, resolveOptions(options, `namespace "${name}"`, this.#options))
  }

  /**
   * The fresh value of a key, or undefined.
   *
   * @example
   * const user = await cache.get<User>('user:1')
   */
  get<T = unknown>(key: string): Promise<T | undefined> {
    this.#open()
    checkKey(key, this.name)
    const entry = this.#tiers.memory.read(this.#space, key)
    if (entry !== undefined && now() < entry.e) {
      this.#memory.hits++
      return Promise.resolve(entry.v as T | undefined)
    }
    this.#memory.misses++
    if (!this.#tiers.remote) return Promise.resolve(undefined)
    return this.#tiers.readValue(this.#space, key, this.#full(key), this.#options.codec, this.#redis) as Promise<T | undefined>
  }

  /**
   * The fresh value of a key if this instance's memory tier holds it, else undefined, without
   * waiting: for hot synchronous paths, where an `await` would cost more than the lookup. It
   * never reads Redis, so with a Redis tier a key only Redis holds reads as undefined (use `get`
   * for that); what memory holds is as current as for `get`, since invalidations from every
   * instance drop it. Counts a memory hit or miss like `get`.
   *
   * @example
   * const user = users.peek<User>('user:1') ?? (await users.get<User>('user:1'))
   */
  peek<T = unknown>(key: string): T | undefined {
    this.#open()
    checkKey(key, this.name)
    const entry = this.#tiers.memory.read(this.#space, key)
    if (entry !== undefined && now() < entry.e) {
      this.#memory.hits++
      return entry.v as T | undefined
    }
    this.#memory.misses++
    return undefined
  }

  /**
   * Whether a key holds a fresh value (a cached "not found" does not count).
   *
   * @example
   * if (!(await cache.has('report:today'))) scheduleReport()
   */
  async has(key: string): Promise<boolean> {
    this.#open()
    checkKey(key, this.name)
    const entry = this.#tiers.memory.read(this.#space, key) ?? (this.#tiers.remote ? await this.#fromRedis(key, false) : undefined)
    return entry !== undefined && !entry.n && now() < entry.e
  }

  /**
   * Stores a value for its TTL (and grace), in memory and in Redis; other instances drop
   * their memory copy.
   *
   * @example
   * await cache.set('user:1', { id: 1, name: 'Ada' }, { ttl: 60_000, tags: ['team:7'] })
   */
  async set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    this.#open()
    checkKey(key, this.name)
    if (value === undefined) {
      throw cacheErrors.create('PLINTH_ERR_CACHE_UNSERIALISABLE', `cannot cache undefined at "${this.#prefix}${key}"; use delete() to remove a key, or null for "nothing"`)
    }
    await this.#store(this.#prefix + key, key, value, this.#callOptions(options, key))
  }

  /**
   * Removes a key from every tier and from every instance's memory.
   *
   * @example
   * await cache.delete('user:1')
   */
  async delete(key: string): Promise<void> {
    this.#open()
    checkKey(key, this.name)
    const full = this.#full(key)
    this.#tiers.memory.delete(full)
    await this.#tiers.changeRemote((redis) => redis.delete([full]), { k: [full] }, this.#redis)
  }

  /**
   * Removes every key of this namespace, on every tier and instance.
   *
   * @example
   * await cache.namespace('users').clear()
   */
  async clear(): Promise<void> {
    this.#open()
    this.#tiers.memory.deleteNamespace(this.name)
    await this.#tiers.changeRemote((redis) => redis.deleteNamespace(this.name), { n: this.name }, this.#redis)
  }

  /**
   * Removes every entry of this namespace set with one of `tags`, on every tier and instance.
   *
   * @example
   * await cache.invalidateTags(['team:7'])
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    this.#open()
    checkTags(tags, `namespace "${this.name}"`)
    const full = tags.map((tag) => this.#prefix + tag)
    this.#tiers.memory.deleteTags(full)
    await this.#tiers.changeRemote((redis) => redis.deleteTags(full), { t: full }, this.#redis)
  }

  /**
   * The fresh value of a key, else the factory's, stored for next time. Concurrent calls for a
   * key share one factory run per instance, and with Redis one across instances. A factory
   * returning undefined caches "not found" for `negativeTtl`. When the factory fails (or takes
   * longer than `timeout`) and an expired value is still within its grace, that value is served.
   * A hit is as cheap as `get`'s; on a hot path, `peek(key) ?? await getOrSet(key, factory)`
   * skips the promise and the await of a fresh hit.
   *
   * @example
   * const device = await cache.getOrSet(`device:${id}`, () => devices.find(id), { ttl: 10_000, grace: 60_000 })
   */
  getOrSet<T>(key: string, factory: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    this.#open()
    checkKey(key, this.name)
    const entry = this.#tiers.memory.read(this.#space, key)
    if (entry !== undefined && now() < entry.e) {
      this.#memory.hits++
      return Promise.resolve(entry.v as T)
    }
    this.#memory.misses++
    const full = this.#full(key)
    const running = this.#tiers.inflight.get(full)
    if (running !== undefined) return running as Promise<T>
    const resolved = this.#callOptions(options, key)
    const loading = this.#load(full, key, factory, resolved, entry).finally(() => this.#tiers.inflight.delete(full))
    this.#tiers.inflight.set(full, loading)
    return loading
  }

  /**
   * Connects the Redis tier, if any. Never fails: an unreachable Redis leaves the cache
   * degraded (memory only) until it is back.
   *
   * @example
   * await cache.connect()
   */
  async connect(): Promise<void> {
    await this.#tiers.redis?.connect()
  }

  /**
   * Up with memory alone or with a reachable Redis; degraded (not down) while Redis is unreachable.
   *
   * @example
   * const { status } = cache.health()
   */
  health(): CacheHealth {
    const tiers = this.#tiers
    const details: CacheHealth['details'] = { tier: tiers.redis ? 'memory+redis' : 'memory', entries: tiers.memory.size, bytes: tiers.memory.bytes }
    if (tiers.redis === undefined) return { status: 'up', details }
    details.outages = tiers.outages
    if (tiers.redis.available) return { status: 'up', details: { ...details, redis: 'reachable' } }
    return { status: 'degraded', details: { ...details, redis: 'unreachable', ...(tiers.redis.lastError ? { error: tiers.redis.lastError.message } : {}) } }
  }

  /**
   * Hits, misses, sets, evictions and errors per namespace and tier since the cache was made.
   *
   * @example
   * const { users } = cache.stats() // { memory: { hits, misses, ... }, redis: { ... } }
   */
  stats(): ReturnType<Tiers['stats']['snapshot']> {
    return this.#tiers.stats.snapshot()
  }

  /** @internal The shared tiers, for the component's metrics. */
  get tiers(): Tiers {
    return this.#tiers
  }

  /**
   * Closes the Redis connections (of every namespace) and empties memory; calls after it fail.
   *
   * @example
   * await cache.close()
   */
  async close(): Promise<void> {
    if (this.#tiers.closed) return
    await this.#tiers.close()
  }

  #full(key: string): string {
    let full = this.#fullKeys.get(key)
    if (full === undefined) {
      if (this.#fullKeys.size >= 10_000) this.#fullKeys.clear()
      this.#fullKeys.set(key, (full = this.#prefix + key))
    }
    return full
  }

  #open(): void {
    if (this.#tiers.closed) throw cacheErrors.create('PLINTH_ERR_CACHE_CLOSED', `the cache was closed; namespace "${this.name}" cannot be used any more`)
  }

  #callOptions(options: GetOrSetOptions | undefined, key: string): Resolved & { tags: readonly string[] | undefined } {
    if (options === undefined) return { ...this.#options, tags: undefined }
    const where = this.#prefix + key
    for (const option of ['ttl', 'grace', 'negativeTtl', 'timeout'] as const) checkDuration(options[option], option, where)
    checkTags(options.tags, where)
    const ttl = options.ttl ?? this.#options.ttl
    return {
      ...this.#options,
      ttl,
      grace: options.grace ?? this.#options.grace,
      negativeTtl: options.negativeTtl ?? (options.ttl === undefined ? this.#options.negativeTtl : Math.min(this.#options.negativeTtl, ttl)),
      timeout: options.timeout ?? this.#options.timeout,
      tags: options.tags,
    }
  }

  /** Reads Redis, keeping a fresh entry in memory; `count` says whether this read is the caller's (not a poll). */
  #fromRedis(key: string, count: boolean): Promise<Entry | undefined> {
    return this.#tiers.readRemote(this.#space, key, this.#full(key), this.#options.codec, this.#redis).then((entry) => {
      if (count) {
        if (entry !== undefined && now() < entry.e) this.#redis.hits++
        else this.#redis.misses++
      }
      return entry
    })
  }

  async #store(full: string, key: string, value: unknown, options: Resolved & { tags: readonly string[] | undefined }): Promise<void> {
    const at = now()
    const negative = value === undefined
    const ttl = negative ? options.negativeTtl : options.ttl
    if (ttl === 0) return
    const tags = options.tags?.map((tag) => this.#prefix + tag)
    const e = at + ttl
    const g = negative ? e : e + options.grace
    // Fields in the order a Redis read parses them, so that both kinds of entry share a shape.
    const entry: Entry = negative ? (tags ? { e, g, t: tags, n: 1 } : { e, g, n: 1 }) : tags ? { e, g, t: tags, v: value } : { e, g, v: value }
    let text = ''
    let size: number
    const codec = options.codec
    if (negative) size = 32
    else if (codec) {
      try {
        text = codec.encode(value)
      } catch (error) {
        throw cacheErrors.create('PLINTH_ERR_CACHE_UNSERIALISABLE', `the codec of namespace "${this.name}" could not encode "${key}"`, { cause: error })
      }
      size = 2 * text.length
    } else {
      size = assertFaithfulJson(value, full)
      if (this.#tiers.remote) text = JSON.stringify(value)
    }
    this.#tiers.memory.write(this.#space, key, entry, size + 2 * full.length)
    this.#memory.sets++
    await this.#tiers.writeRemote(full, entry, text, codec !== undefined, this.#redis)
  }

  async #load<T>(full: string, key: string, factory: () => T | Promise<T>, options: Resolved & { tags: readonly string[] | undefined }, inMemory: Entry | undefined): Promise<T> {
    let stale = inMemory !== undefined && now() < inMemory.g ? inMemory : undefined
    let lease: string | undefined
    if (this.#tiers.remote) {
      const remote = await this.#fromRedis(key, true)
      if (remote !== undefined && now() < remote.e) return remote.v as T
      if (remote !== undefined && now() < remote.g && (stale === undefined || remote.g > stale.g)) stale = remote
      for (;;) {
        const redis = this.#tiers.redis
        if (redis === undefined || !redis.available) break
        lease = await redis.acquire(full, options.lease).catch(() => undefined)
        if (lease !== undefined || !redis.available) break
        // Another instance is computing it: serve what we have, or wait for its result to land.
        if (stale !== undefined) return stale.v as T
        await this.#tiers.waitForChange(full, pollInterval)
        const landed = await this.#fromRedis(key, false)
        if (landed !== undefined && now() < landed.e) {
          this.#redis.hits++
          return landed.v as T
        }
      }
    }
    return this.#refresh(full, key, factory, options, stale, lease)
  }

  #refresh<T>(full: string, key: string, factory: () => T | Promise<T>, options: Resolved & { tags: readonly string[] | undefined }, stale: Entry | undefined, lease: string | undefined): Promise<T> {
    const stored = (async () => {
      const value = await factory()
      await this.#store(full, key, value, options)
      return value
    })()
    const settled = lease === undefined ? stored : stored.finally(() => this.#tiers.redis?.release(full, lease).catch(() => this.#redis.errors++))
    if (stale === undefined) return settled
    const served = stale.v as T
    const guarded = settled.catch((error: unknown) => {
      this.#tiers.log.warn({ err: error, key: full }, `cache: refreshing "${full}" failed; serving the value that expired ${now() - stale.e} ms ago (grace)`)
      return served
    })
    const timeout = options.timeout
    if (timeout === undefined) return guarded
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(served), timeout)))
    return Promise.race([guarded.finally(() => clearTimeout(timer)), late])
  }
}

/**
 * Makes a cache: memory alone by default, memory in front of Redis with a `redis://` URL (or
 * an ioredis client). Call `connect()` before use with Redis, `close()` at the end.
 *
 * @example
 * const cache = createCache({ url: process.env.CACHE_URL, ttl: 60_000, maxEntries: 50_000 })
 * await cache.connect()
 */
export function createCache(options: CacheOptions = {}): Cache {
  const url = options.url ?? 'memory://'
  const remote = options.redis !== undefined || /^rediss?:\/\//.test(url)
  if (!remote && !url.startsWith('memory:')) {
    throw cacheErrors.create('PLINTH_ERR_CACHE_INVALID_OPTIONS', `cache URL "${url.replace(/\/\/[^@/]*@/, '//***@')}" is neither memory:// nor redis:// or rediss://`)
  }
  for (const option of ['maxEntries', 'maxBytes'] as const) {
    const value = options[option]
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw cacheErrors.create('PLINTH_ERR_CACHE_INVALID_OPTIONS', `cache option ${option} is ${String(value)}; give a positive integer`)
    }
  }
  const resolved = resolveOptions(options, 'the cache')
  const tiers = new Tiers({
    maxEntries: options.maxEntries ?? 10_000,
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
    log: options.log ?? silent,
    ...(remote ? { redis: { url: options.redis ? undefined : url, client: options.redis, prefix: options.prefix ?? 'plinth:cache' } } : {}),
  })
  return new Cache(tiers, 'default', resolved)
}
