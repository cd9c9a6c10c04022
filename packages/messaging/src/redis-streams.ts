/**
 * The Redis Streams broker (ioredis): a stream per topic, a consumer group per subscription
 * group with one consumer per instance (XREADGROUP), takeover of messages idle past ackTimeout
 * (XAUTOCLAIM over the pending entries list, attempt count read back from XPENDING), and the
 * dead-letter step as one Lua script that acknowledges and dead-letters together.
 *
 * Keys share a hash tag per topic (`plinth:{topic}:stream`, `plinth:{topic}:dlq`) so the script
 * touches one slot, as Redis Cluster requires.
 */
import { createRequire } from 'node:module'
import type * as IORedis from 'ioredis'
import type { Redis, RedisOptions } from 'ioredis'
import type { Broker, BrokerConsumer, DeadLetterStore, Delivery, StoredDeadLetter, WireMessage } from './contract.js'
import { messagingErrors } from './errors.js'
import { maskUrl } from './url.js'

// ioredis is loaded when the first client is made, not at import: an app that runs without Redis
// does not pay for loading it at start (about 200 ms of CPU). It is CommonJS: a synchronous require.
const ioredis = () => createRequire(import.meta.url)('ioredis') as typeof IORedis

export interface RedisBrokerOptions {
  /** redis:// or rediss:// URL. */
  url: string
  /** Prefix of every key. Default "plinth:". */
  prefix?: string
  /**
   * Approximate cap of each topic's stream (XADD MAXLEN ~). Trimming removes the oldest
   * entries whether or not every group has read them: keep it above the largest backlog a
   * group may build. Default 100 000.
   */
  maxLen?: number
  /** How long one XREADGROUP waits for messages before the consumer looks for takeovers. Default 1 000 ms. */
  blockTime?: number
  /** Extra ioredis options. */
  redis?: RedisOptions
}

// KEYS: stream, dead-letter stream. ARGV: group, id, body, reason, attempts, deadAt.
// Acknowledged and dead-lettered in one step: never one without the other. A message that is no
// longer pending (another consumer settled it) is left alone rather than dead-lettered twice.
const deadLetterScript = `
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'm', ARGV[3], 'g', ARGV[1], 'e', ARGV[4], 'a', ARGV[5], 't', ARGV[6], 's', ARGV[2])
return 1
`

type StreamEntry = [id: string, fields: string[]]

const fieldOf = (fields: readonly string[], name: string): string | undefined => {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

/**
 * The Redis Streams broker.
 *
 * @example
 * const bus = new Bus({ broker: new RedisBroker({ url: 'redis://127.0.0.1:6379', maxLen: 1_000_000 }) })
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis'
  readonly url: string
  readonly #options: RedisBrokerOptions
  readonly #prefix: string
  readonly #maxLen: string
  readonly #consumers = new Set<{ close(): Promise<void> }>()
  #redis: Redis | undefined

  constructor(options: RedisBrokerOptions) {
    this.#options = options
    this.url = maskUrl(options.url)
    this.#prefix = options.prefix ?? 'plinth:'
    this.#maxLen = String(options.maxLen ?? 100_000)
  }

  #connection(role: string, extra: RedisOptions = {}): Redis {
    return new (ioredis().Redis)(this.#options.url, {
      lazyConnect: true,
      connectionName: `plinth-messaging-${role}`,
      // Reconnect for ever, at most a second apart: a restarted broker is picked up again.
      retryStrategy: (times) => Math.min(times * 100, 1_000),
      ...this.#options.redis,
      ...extra,
    })
  }

  get #command(): Redis {
    if (this.#redis === undefined) throw messagingErrors.create('PLINTH_ERR_MESSAGING_UNAVAILABLE', `the Redis broker at ${this.url} is not connected; start the bus first`)
    return this.#redis
  }

  streamKey(topic: string): string {
    return `${this.#prefix}{${topic}}:stream`
  }

  deadLetterKey(topic: string): string {
    return `${this.#prefix}{${topic}}:dlq`
  }

  async connect(signal?: AbortSignal): Promise<void> {
    if (this.#redis !== undefined) return
    // Concurrent commands (publishes, acks) share one round trip.
    const redis = this.#connection('command', { enableAutoPipelining: true })
    redis.defineCommand('plinthDeadLetter', { numberOfKeys: 2, lua: deadLetterScript })
    // Errors surface through the commands that meet them; without a listener ioredis would print
    // each reconnect failure. The last one is kept: a failed first connection rejects with only
    // "Connection is closed", and the cause (refused, wrong password) is what the caller needs.
    let cause: Error | undefined
    redis.on('error', (error: Error) => (cause = error))
    const abort = () => redis.disconnect()
    signal?.addEventListener('abort', abort, { once: true })
    // Kept even when the first connection fails: ioredis goes on reconnecting, so a bus started
    // degraded recovers by itself once the broker is back (close() ends the attempts).
    this.#redis = redis
    try {
      await redis.connect()
    } catch (error) {
      throw cause ?? error
    } finally {
      signal?.removeEventListener('abort', abort)
    }
  }

  async ping(): Promise<number> {
    const started = performance.now()
    await this.#command.ping()
    return performance.now() - started
  }

  async publish(topic: string, message: WireMessage): Promise<void> {
    await this.#command.xadd(this.streamKey(topic), 'MAXLEN', '~', this.#maxLen, '*', 'm', message.body)
  }

  async #createGroup(stream: string, group: string): Promise<void> {
    try {
      // "$": a new group starts with what is published from now on.
      await this.#command.xgroup('CREATE', stream, group, '$', 'MKSTREAM')
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error
    }
  }

  async consumer(topic: string, group: string, options: { consumer: string; ackTimeout: number }): Promise<BrokerConsumer> {
    const stream = this.streamKey(topic)
    await this.#createGroup(stream, group)
    const consumer = new StreamConsumer(this.#command, this.#connection(`consumer-${group}`), {
      stream,
      deadLetters: this.deadLetterKey(topic),
      group,
      consumer: options.consumer,
      ackTimeout: options.ackTimeout,
      blockTime: Math.min(this.#options.blockTime ?? 1_000, Math.max(10, Math.floor(options.ackTimeout / 2))),
      recreate: () => this.#createGroup(stream, group),
    })
    this.#consumers.add(consumer)
    const close = consumer.close.bind(consumer)
    consumer.close = async (closeOptions) => {
      this.#consumers.delete(consumer)
      await close(closeOptions)
    }
    return consumer
  }

  readonly deadLetters: DeadLetterStore = {
    topics: async () => {
      const found: Array<{ topic: string; count: number }> = []
      const pattern = `${this.#prefix}{*}:dlq`
      let cursor = '0'
      do {
        const [next, keys] = await this.#command.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        cursor = next
        for (const key of keys) {
          const count = await this.#command.xlen(key)
          if (count > 0) found.push({ topic: key.slice(this.#prefix.length + 1, -'}:dlq'.length), count })
        }
      } while (cursor !== '0')
      return found.sort((a, b) => a.topic.localeCompare(b.topic))
    },
    list: async (topic, limit) => {
      const entries = (await this.#command.xrange(this.deadLetterKey(topic), '-', '+', 'COUNT', Math.min(limit, 1_000_000))) as StreamEntry[]
      return entries.map(toStoredDeadLetter)
    },
    get: async (topic, id) => {
      const entries = (await this.#command.xrange(this.deadLetterKey(topic), id, id).catch(() => [])) as StreamEntry[]
      return entries.length === 0 ? undefined : toStoredDeadLetter(entries[0]!)
    },
    remove: async (topic, ids) => (ids.length === 0 ? 0 : this.#command.xdel(this.deadLetterKey(topic), ...ids)),
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((consumer) => consumer.close()))
    const redis = this.#redis
    this.#redis = undefined
    if (redis === undefined) return
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect())
    else redis.disconnect()
  }
}

function toStoredDeadLetter([id, fields]: StreamEntry): StoredDeadLetter {
  return {
    id,
    body: fieldOf(fields, 'm') ?? '',
    group: fieldOf(fields, 'g') ?? '',
    error: fieldOf(fields, 'e') ?? '',
    attempts: Number(fieldOf(fields, 'a') ?? 0),
    deadAt: Number(fieldOf(fields, 't') ?? 0),
  }
}

interface ConsumerSettings {
  stream: string
  deadLetters: string
  group: string
  consumer: string
  ackTimeout: number
  blockTime: number
  recreate: () => Promise<void>
}

type DeadLetterCommand = (stream: string, dlq: string, group: string, id: string, body: string, reason: string, attempts: string, deadAt: string) => Promise<number>

/** One instance's consumer in one group: blocking reads on a connection of its own. */
class StreamConsumer implements BrokerConsumer {
  readonly #command: Redis
  readonly #blocking: Redis
  readonly #settings: ConsumerSettings
  /** Messages back from a retry's backoff, with their attempt. */
  readonly #due: Array<{ id: string; body: string; attempt: number }> = []
  readonly #timers = new Set<NodeJS.Timeout>()
  #claimCursor = '0-0'
  #nextClaim = 0
  #closed = false
  /** Ids acknowledged in this turn of the event loop, and the XACK that will carry them all. */
  #acks: string[] = []
  #acking: Promise<void> | undefined

  constructor(command: Redis, blocking: Redis, settings: ConsumerSettings) {
    this.#command = command
    this.#blocking = blocking
    this.#blocking.on('error', () => {})
    this.#blocking.on('ready', () => (this.#clientId = undefined))
    this.#settings = settings
  }

  #delivery(id: string, body: string, attempt: number): Delivery {
    const { stream, deadLetters, group } = this.#settings
    return {
      body,
      attempt,
      ack: () => this.#ack(id),
      retry: (delay) => {
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          this.#reclaim(id).catch(() => {
            // Left pending: another consumer (or this one) takes it over after ackTimeout.
          })
        }, delay)
        this.#timers.add(timer)
        return Promise.resolve()
      },
      deadLetter: async (reason, attempts) => {
        const run = (this.#command as unknown as { plinthDeadLetter: DeadLetterCommand }).plinthDeadLetter
        await run.call(this.#command, stream, deadLetters, group, id, body, reason, String(attempts), String(Date.now()))
      },
    }
  }

  /**
   * Acknowledgements made in one turn go to Redis as one XACK of many ids: one command for the
   * server to run instead of one per message (auto-pipelining already shares the round trip).
   */
  #ack(id: string): Promise<void> {
    this.#acks.push(id)
    this.#acking ??= new Promise<void>((resolve) => process.nextTick(resolve)).then(async () => {
      const ids = this.#acks
      this.#acks = []
      this.#acking = undefined
      const { stream, group } = this.#settings
      await this.#command.xack(stream, group, ...ids)
    })
    return this.#acking
  }

  /** Claims a message back from its backoff; XCLAIM counts the delivery, XPENDING tells the count. */
  async #reclaim(id: string): Promise<void> {
    if (this.#closed) return
    const { stream, group, consumer } = this.#settings
    const claimed = (await this.#command.xclaim(stream, group, consumer, 0, id)) as StreamEntry[]
    const entry = claimed[0]
    if (entry === undefined) return
    const counts = await this.#deliveryCounts([id])
    this.#due.push({ id, body: fieldOf(entry[1], 'm') ?? '', attempt: counts.get(id) ?? 1 })
    this.#wakeBlocked()
  }

  /** A reclaimed message should not wait for the blocked read to time out: CLIENT UNBLOCK ends it now. */
  #wakeBlocked(): void {
    if (this.#reading && this.#clientId !== undefined) void this.#command.client('UNBLOCK', this.#clientId).catch(() => 0)
  }

  #reading = false
  /** The blocking connection's CLIENT ID (it changes with every reconnection). */
  #clientId: number | undefined

  async #deliveryCounts(ids: readonly string[]): Promise<Map<string, number>> {
    const { stream, group, consumer } = this.#settings
    const sorted = [...ids].sort(compareIds)
    const rows = (await this.#command.xpending(stream, group, sorted[0]!, sorted.at(-1)!, ids.length * 2, consumer)) as Array<[string, string, number, number]>
    return new Map(rows.map(([id, , , deliveries]) => [id, deliveries]))
  }

  async fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    if (this.#due.length > 0) return this.#due.splice(0, max).map(({ id, body, attempt }) => this.#delivery(id, body, attempt))
    if (Date.now() >= this.#nextClaim) {
      const taken = await this.#takeOver(max)
      if (taken.length > 0) return taken
    }
    const { stream, group, consumer, blockTime } = this.#settings
    this.#clientId ??= (await this.#blocking.client('ID'))
    const abort = () => this.#blocking.disconnect()
    signal.addEventListener('abort', abort, { once: true })
    this.#reading = true
    try {
      const result = (await this.#blocking.xreadgroup('GROUP', group, consumer, 'COUNT', max, 'BLOCK', blockTime, 'STREAMS', stream, '>')) as Array<[string, StreamEntry[]]> | null
      if (result === null) return []
      return result[0]![1].map(([id, fields]) => this.#delivery(id, fieldOf(fields, 'm') ?? '', 1))
    } catch (error) {
      if (signal.aborted) return []
      // The group is gone (the stream was deleted, or the broker restarted without persistence): make it again.
      if (error instanceof Error && error.message.startsWith('NOGROUP')) await this.#settings.recreate()
      throw error
    } finally {
      this.#reading = false
      signal.removeEventListener('abort', abort)
    }
  }

  /** Takes over messages of the group idle for longer than ackTimeout: their consumer died or hangs. */
  async #takeOver(max: number): Promise<Delivery[]> {
    const { stream, group, consumer, ackTimeout } = this.#settings
    this.#nextClaim = Date.now() + Math.max(10, Math.floor(ackTimeout / 2))
    const [next, entries] = (await this.#command.xautoclaim(stream, group, consumer, ackTimeout, this.#claimCursor, 'COUNT', max)) as [string, StreamEntry[], string[]]
    this.#claimCursor = next
    // Entries trimmed from the stream come back as null; XAUTOCLAIM has dropped them from the list already.
    const live = entries.filter((entry): entry is StreamEntry => entry !== null && Array.isArray(entry[1]))
    if (live.length === 0) return []
    const counts = await this.#deliveryCounts(live.map(([id]) => id))
    return live.map(([id, fields]) => this.#delivery(id, fieldOf(fields, 'm') ?? '', counts.get(id) ?? 2))
  }

  async lag(): Promise<number> {
    const groups = (await this.#command.xinfo('GROUPS', this.#settings.stream)) as unknown[][]
    for (const fields of groups) {
      if (fieldOf(fields as string[], 'name') !== this.#settings.group) continue
      const lag = (fields)[(fields).indexOf('lag') + 1]
      return typeof lag === 'number' ? lag : -1
    }
    return -1
  }

  async close(options?: { forget?: boolean }): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#blocking.disconnect()
    const { stream, group, consumer } = this.#settings
    if (options?.forget === true) {
      await this.#command.xgroup('DESTROY', stream, group).catch(() => 0)
      return
    }
    // Each instance is a consumer of its own name: without this, every restart would leave one
    // behind in the group. Only when it holds nothing, since deleting a consumer drops its pending entries.
    await (async () => {
      const held = (await this.#command.xpending(stream, group, '-', '+', 1, consumer))
      if (held.length === 0) await this.#command.xgroup('DELCONSUMER', stream, group, consumer)
    })().catch(() => undefined)
  }
}

/** Orders stream ids ("ms-seq") numerically. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number]
  const [bm, bs] = b.split('-').map(Number) as [number, number]
  return am - bm || as - bs
}
