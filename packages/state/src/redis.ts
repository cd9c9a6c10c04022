/**
 * The Redis store. A bucket is a hash: `live` marks it open, `v:<field>` holds a value and
 * `e:<field>` its deadline. Every write is a Lua script that checks `live` first (a dropped
 * session stays dropped) and changes one field, never the whole bucket. Changes are published
 * on a channel, so watchers on every instance fire; per-field expiry (Redis 7.0 has no hash
 * field TTL) is kept in a sorted set that each instance sweeps, the ZREM deciding which
 * instance announces an expiry.
 */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type * as IORedis from 'ioredis'
import type { Redis } from 'ioredis'
import { stateErrors } from './errors.js'
import { Watchers, type StateChange, type StateListener, type StateStore } from './store.js'

// ioredis is loaded when the first client is made, not at import: an app that runs without Redis
// does not pay for loading it at start (about 200 ms of CPU). It is CommonJS: a synchronous require.
const ioredis = () => createRequire(import.meta.url)('ioredis') as typeof IORedis

const now = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

// KEYS: hash. ARGV: field. The value, unless expired.
const getScript = `${now}
local got = redis.call('HMGET', KEYS[1], 'v:' .. ARGV[1], 'e:' .. ARGV[1])
if not got[1] then return false end
if got[2] and tonumber(got[2]) <= now then return false end
return got[1]`

// KEYS: hash, expiries. ARGV: field, mode (set|cas|del), expected?, hasExpected, next?, hasNext, ttl, channel, bucket.
// Returns -1 when the bucket is not open, 0 when a compare-and-set lost (or a delete found nothing), 1 when it wrote.
const writeScript = `${now}
local field, mode = ARGV[1], ARGV[2]
if mode ~= 'del' and redis.call('HEXISTS', KEYS[1], 'live') == 0 then return -1 end
local got = redis.call('HMGET', KEYS[1], 'v:' .. field, 'e:' .. field)
local current = got[1]
if current and got[2] and tonumber(got[2]) <= now then current = false end
if mode == 'cas' then
  if ARGV[4] == '1' then
    if current ~= ARGV[3] then return 0 end
  elseif current then return 0 end
end
local member = ARGV[9] .. '\\n' .. field
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[1], 'v:' .. field, ARGV[5])
  local ttl = tonumber(ARGV[7])
  if ttl > 0 then
    redis.call('HSET', KEYS[1], 'e:' .. field, now + ttl)
    redis.call('ZADD', KEYS[2], now + ttl, member)
  else
    redis.call('HDEL', KEYS[1], 'e:' .. field)
    redis.call('ZREM', KEYS[2], member)
  end
  redis.call('PUBLISH', ARGV[8], cjson.encode({ b = ARGV[9], f = field, t = 'set', v = ARGV[5] }))
  return 1
end
-- Removing an absent field: a delete found nothing; a compare-and-set (expecting it absent) has nothing to do.
if not current then if mode == 'cas' then return 1 end return 0 end
redis.call('HDEL', KEYS[1], 'v:' .. field, 'e:' .. field)
redis.call('ZREM', KEYS[2], member)
redis.call('PUBLISH', ARGV[8], cjson.encode({ b = ARGV[9], f = field, t = 'delete' }))
return 1`

// KEYS: expiries. ARGV: hash prefix, channel, limit. Removes fields past their deadline and announces each once.
const sweepScript = `${now}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local at = string.find(member, '\\n', 1, true)
  local bucket, field = string.sub(member, 1, at - 1), string.sub(member, at + 1)
  local hash = ARGV[1] .. bucket
  local deadline = redis.call('HGET', hash, 'e:' .. field)
  if deadline and tonumber(deadline) <= now then
    redis.call('HDEL', hash, 'v:' .. field, 'e:' .. field)
    redis.call('PUBLISH', ARGV[2], cjson.encode({ b = bucket, f = field, t = 'expire' }))
  end
end
return #due`

// KEYS: hash. ARGV: ttl (0: none). Opens the bucket.
const openScript = `redis.call('HSET', KEYS[1], 'live', '1')
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) else redis.call('PERSIST', KEYS[1]) end
return 1`

export interface RedisStateStoreOptions {
  /** redis:// or rediss:// URL, when no client is given. */
  url?: string
  /** A client to use (and not to close). */
  client?: Redis
  /** Prefix of every key and of the change channel. Default `plinth:state`. */
  prefix?: string
  /** How often this instance sweeps expired fields, in ms. Default 1 000. */
  sweepInterval?: number
}

/**
 * State in Redis, shared by every instance, with watchers that fire across instances.
 *
 * @example
 * const store = new RedisStateStore({ url: process.env.REDIS_URL })
 * await store.connect()
 * await store.open('session:abc', 86_400_000)
 * await store.set('session:abc', 'cart', '{"items":[]}')
 */
export class RedisStateStore implements StateStore {
  readonly #client: Redis
  readonly #subscriber: Redis
  readonly #owned: boolean
  readonly #hash: string
  readonly #expiries: string
  readonly #channel: string
  readonly #watchers = new Watchers()
  /** Watches waiting for their barrier message to come back, by its id. */
  readonly #synced = new Map<string, () => void>()
  readonly #sweepInterval: number
  #sweeper: NodeJS.Timeout | undefined

  constructor(options: RedisStateStoreOptions = {}) {
    this.#owned = options.client === undefined
    this.#client = options.client ?? new (ioredis().Redis)(options.url ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 2 })
    this.#subscriber = this.#client.duplicate({ lazyConnect: true })
    const prefix = options.prefix ?? 'plinth:state'
    this.#hash = `${prefix}:b:`
    this.#expiries = `${prefix}:expiries`
    this.#channel = `${prefix}:changes`
    this.#sweepInterval = options.sweepInterval ?? 1_000
    for (const connection of [this.#client, this.#subscriber]) connection.on('error', () => undefined)
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return
      const message = JSON.parse(text) as { b: string; f: string; t: StateChange['type']; v?: string; s?: string }
      if (message.s !== undefined) return this.#synced.get(message.s)?.()
      this.#watchers.emit({ bucket: message.b, field: message.f, type: message.t, value: message.v })
    })
  }

  get available(): boolean {
    return this.#client.status === 'ready'
  }

  /** Connects both connections, subscribes to changes and starts sweeping expired fields. */
  async connect(): Promise<void> {
    try {
      if (this.#client.status === 'wait') await this.#client.connect()
      if (this.#subscriber.status === 'wait') await this.#subscriber.connect()
      await this.#subscriber.subscribe(this.#channel)
    } catch (error) {
      // A failed start is not stopped: stop reconnecting here, or the clients would try forever.
      this.#subscriber.disconnect()
      if (this.#owned) this.#client.disconnect()
      throw error
    }
    this.#sweeper ??= setInterval(() => void this.sweep().catch(() => undefined), this.#sweepInterval).unref()
  }

  /** Removes the fields whose TTL ran out and announces them; returns how many were due. */
  async sweep(): Promise<number> {
    return (await this.#client.eval(sweepScript, 1, this.#expiries, this.#hash, this.#channel, 500)) as number
  }

  async open(bucket: string, ttl?: number): Promise<void> {
    await this.#client.eval(openScript, 1, this.#hash + bucket, ttl ?? 0)
  }

  async touch(bucket: string, ttl?: number): Promise<boolean> {
    const key = this.#hash + bucket
    if (ttl === undefined) return (await this.#client.hexists(key, 'live')) === 1
    const [[, live]] = (await this.#client.multi().hexists(key, 'live').pexpire(key, ttl).exec()) as [[unknown, number]]
    return live === 1
  }

  async drop(bucket: string): Promise<void> {
    await this.#client.unlink(this.#hash + bucket)
  }

  async get(bucket: string, field: string): Promise<string | undefined> {
    return ((await this.#client.eval(getScript, 1, this.#hash + bucket, field)) as string | null) ?? undefined
  }

  async set(bucket: string, field: string, value: string, ttl?: number): Promise<void> {
    await this.#write(bucket, field, 'set', undefined, value, ttl)
  }

  async delete(bucket: string, field: string): Promise<boolean> {
    return (await this.#write(bucket, field, 'del', undefined, undefined, undefined)) === 1
  }

  async compareAndSet(bucket: string, field: string, expected: string | undefined, next: string | undefined, ttl?: number): Promise<boolean> {
    return (await this.#write(bucket, field, 'cas', expected, next, ttl)) === 1
  }

  async watch(bucket: string, field: string | undefined, listener: StateListener): Promise<() => Promise<void>> {
    // A watcher hears changes made after it was added, not the announcements of earlier writes
    // still on their way: Redis delivers one connection's publishes in order, so once a barrier
    // published now comes back, every earlier write of this instance has been delivered.
    if (this.#subscriber.status === 'ready' && this.#client.status === 'ready') {
      const id = randomUUID()
      const back = new Promise<void>((resolve) => this.#synced.set(id, resolve))
      const timeout = setTimeout(() => this.#synced.get(id)?.(), 1_000)
      try {
        await this.#client.publish(this.#channel, JSON.stringify({ s: id }))
        await back
      } finally {
        clearTimeout(timeout)
        this.#synced.delete(id)
      }
    }
    const off = this.#watchers.add(bucket, field, listener)
    return () => {
      off()
      return Promise.resolve()
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper)
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect())
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect())
  }

  async #write(bucket: string, field: string, mode: 'set' | 'cas' | 'del', expected: string | undefined, next: string | undefined, ttl: number | undefined): Promise<number> {
    const result = (await this.#client.eval(
      writeScript,
      2,
      this.#hash + bucket,
      this.#expiries,
      field,
      mode,
      expected ?? '',
      expected === undefined ? '0' : '1',
      next ?? '',
      next === undefined ? '0' : '1',
      ttl ?? 0,
      this.#channel,
      bucket,
    )) as number
    if (result === -1) throw stateErrors.create('PLINTH_ERR_STATE_SESSION_ENDED', `state bucket "${bucket}" is not open (ended or expired); it cannot be written`)
    return result
  }
}
