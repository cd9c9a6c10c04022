/**
 * The event store on Redis Streams: the second backend 001 asks for, for services that keep
 * their events beside their cache and bus rather than in their database.
 *
 * Layout, under one hash-tagged prefix so a cluster keeps every key in one slot (the append
 * script touches them together): `all` is one Redis stream with an entry per event whose id is
 * `<position>-0`; `stream:<name>` has an entry per event of that stream whose id is
 * `<version>-0`; `versions` maps a stream to its version, `ids` holds every event id, `head` the
 * last position, `checkpoints` the subscriptions' positions. An append is one Lua script: the
 * version check, the positions and both entries happen atomically, so positions have no gaps and
 * a reader can never see an event before one with a lower position.
 */
import { createRequire } from 'node:module'
import { redactUrl } from '@plinth/db'
import type * as IORedis from 'ioredis'
import type { Redis, RedisOptions } from 'ioredis'
import { AppendListeners } from './append-listeners.js'
import type { Appended, AppendListener, AppendOptions, AppendOrigin, AppendResult, EventStore, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent } from './contract.js'
import { cqrsErrors } from './errors.js'
import { checkExpected, checkName, checkStream, checkWhole, prepareAppend } from './validate.js'

// ioredis is loaded when the first store is made, not at import: an app whose event store is on
// the database does not pay for loading it at start. It is CommonJS: a synchronous require.
const ioredis = () => createRequire(import.meta.url)('ioredis') as typeof IORedis

const appendScript = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local expected = ARGV[2]
if (expected == 'no-stream' and current ~= 0) or (expected == 'stream-exists' and current == 0)
  or (expected ~= 'any' and expected ~= 'no-stream' and expected ~= 'stream-exists' and current ~= tonumber(expected)) then
  return {'conflict', current}
end
local n = tonumber(ARGV[3])
for i = 1, n do
  if redis.call('SISMEMBER', KEYS[2], ARGV[2 + 2 * i]) == 1 then return {'duplicate', ARGV[2 + 2 * i]} end
end
local position = 0
for i = 1, n do
  position = redis.call('INCR', KEYS[3])
  local version = current + i
  redis.call('XADD', KEYS[4], position .. '-0', 'v', version, 'e', ARGV[3 + 2 * i])
  redis.call('XADD', KEYS[5], version .. '-0', 'p', position, 'e', ARGV[3 + 2 * i])
  redis.call('SADD', KEYS[2], ARGV[2 + 2 * i])
end
redis.call('HSET', KEYS[1], ARGV[1], current + n)
return {'ok', current + n, position}
`

export interface RedisEventStoreOptions {
  /** A `redis://` URL, or ioredis options. */
  readonly connection: string | RedisOptions
  /** Key prefix; the braces keep every key in one cluster slot. Default `plinth:{events}:`. */
  readonly prefix?: string
}

type Entry = [id: string, fields: string[]]

interface Body {
  id: string
  stream: string
  type: string
  data: string
  metadata: string
  time: string
}

function field(fields: string[], name: string): string {
  const index = fields.indexOf(name)
  return fields[index + 1] ?? ''
}

function toRecorded<Data>(entry: Entry, by: 'position' | 'version'): RecordedEvent<Data> {
  const [id, fields] = entry
  const body = JSON.parse(field(fields, 'e')) as Body
  const own = Number(id.split('-')[0])
  return {
    id: body.id,
    stream: body.stream,
    type: body.type,
    data: JSON.parse(body.data) as Data,
    metadata: JSON.parse(body.metadata) as Record<string, unknown>,
    version: by === 'version' ? own : Number(field(fields, 'v')),
    position: by === 'position' ? own : Number(field(fields, 'p')),
    time: new Date(body.time),
  }
}

/**
 * An event store on Redis Streams.
 *
 * @example
 * const store = new RedisEventStore({ connection: 'redis://127.0.0.1:6379' })
 * await store.append('device-7', [{ type: 'device.registered', data: {} }], { expectedVersion: 'no-stream' })
 * await store.close()
 */
export class RedisEventStore implements EventStore {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #listeners = new AppendListeners()
  readonly #where: string
  #lastError: Error | undefined

  constructor(options: RedisEventStoreOptions) {
    // Commands fail at once while disconnected instead of queueing without bound: an append
    // either reaches Redis or says it did not.
    const settings: RedisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true }
    const { Redis } = ioredis()
    this.#redis = typeof options.connection === 'string' ? new Redis(options.connection, settings) : new Redis({ ...settings, ...options.connection })
    // Reported through the calls that fail, with the connection's own reason rather than ioredis' "stream isn't writeable".
    this.#redis.on('error', (error: Error) => (this.#lastError = error))
    this.#redis.on('ready', () => (this.#lastError = undefined))
    this.#where = typeof options.connection === 'string' ? redactUrl(options.connection) : `${options.connection.host ?? '127.0.0.1'}:${options.connection.port ?? 6379}`
    this.#prefix = options.prefix ?? 'plinth:{events}:'
  }

  /** Connects now (it otherwise connects on first use). */
  async connect(): Promise<void> {
    // #call connects first; the command after it only proves the connection (connecting twice is refused by ioredis).
    if (this.#redis.status === 'wait') await this.#call(() => this.#redis.ping())
  }

  async #call<T>(run: () => Promise<T>): Promise<T> {
    if (this.#redis.status === 'wait') {
      try {
        await this.#redis.connect()
      } catch {
        // reported by the command below
      }
    }
    try {
      return await run()
    } catch (error) {
      if (cqrsErrors.is(error)) throw error
      const reason = this.#redis.status === 'ready' ? error : (this.#lastError ?? error)
      throw cqrsErrors.create('PLINTH_ERR_EVENTS_UNAVAILABLE', `Redis at ${this.#where} behind the event store failed: ${reason instanceof Error ? reason.message : String(reason)}`, { cause: error })
    }
  }

  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const { events: prepared, expected } = prepareAppend(stream, events, options)
    const time = new Date().toISOString()
    const args = [stream, String(expected), String(prepared.length)]
    for (const event of prepared) args.push(event.id, JSON.stringify({ id: event.id, stream, type: event.type, data: event.data, metadata: event.metadata, time } satisfies Body))
    const p = this.#prefix
    const reply = (await this.#call(() => this.#redis.eval(appendScript, 5, `${p}versions`, `${p}ids`, `${p}head`, `${p}all`, `${p}stream:${stream}`, ...args))) as [string, number | string, number?]
    if (reply[0] === 'conflict') {
      checkExpected(stream, expected, Number(reply[1]))
      throw new Error(`unreachable: Redis reported a conflict at version ${reply[1]} that the expected version allows`)
    }
    if (reply[0] === 'duplicate') throw cqrsErrors.create('PLINTH_ERR_EVENTS_DUPLICATE_ID', `event id "${reply[1]}" of the append to "${stream}" is already in the store`)
    const result = { version: Number(reply[1]), position: Number(reply[2]) }
    // The script draws the positions of one append one after the other (INCR), as it does the versions.
    const first = { version: result.version - prepared.length + 1, position: result.position - prepared.length + 1 }
    this.#listeners.emit({ stream, ...result, events: prepared.map((event, index) => ({ id: event.id, type: event.type, version: first.version + index, position: first.position + index })) })
    return result
  }

  async readStream<Data = unknown>(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<Data>[]> {
    checkStream(stream)
    const from = checkWhole(options.from, 'from', 0)
    const limit = checkWhole(options.limit, 'limit', 1)
    const key = `${this.#prefix}stream:${stream}`
    const backwards = options.direction === 'backwards'
    const start = backwards ? (from === undefined ? '+' : `${from}-0`) : from === undefined ? '-' : `${Math.max(from, 1)}-0`
    const end = backwards ? '-' : '+'
    const entries = (await this.#call(() => {
      if (backwards) return limit === undefined ? this.#redis.xrevrange(key, start, end) : this.#redis.xrevrange(key, start, end, 'COUNT', limit)
      return limit === undefined ? this.#redis.xrange(key, start, end) : this.#redis.xrange(key, start, end, 'COUNT', limit)
    })) as Entry[]
    return entries.map((entry) => toRecorded<Data>(entry, 'version'))
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = checkWhole(options.after, 'after', 0) ?? 0
    const limit = checkWhole(options.limit, 'limit', 1) ?? 1_000
    const entries = (await this.#call(() => this.#redis.xrange(`${this.#prefix}all`, `(${after}-0`, '+', 'COUNT', limit))) as Entry[]
    return entries.map((entry) => toRecorded(entry, 'position'))
  }

  async streamVersion(stream: string): Promise<number> {
    checkStream(stream)
    return Number((await this.#call(() => this.#redis.hget(`${this.#prefix}versions`, stream))) ?? 0)
  }

  async headPosition(): Promise<number> {
    return Number((await this.#call(() => this.#redis.get(`${this.#prefix}head`))) ?? 0)
  }

  async readCheckpoint(name: string): Promise<number> {
    checkName(name, 'checkpoint')
    return Number((await this.#call(() => this.#redis.hget(`${this.#prefix}checkpoints`, name))) ?? 0)
  }

  async saveCheckpoint(name: string, position: number): Promise<void> {
    checkName(name, 'checkpoint')
    checkWhole(position, 'position', 0)
    await this.#call(() => this.#redis.hset(`${this.#prefix}checkpoints`, name, position))
  }

  onAppended(listener: AppendListener): () => void {
    return this.#listeners.add(listener)
  }

  notifyAppended(appended: Appended, origin: AppendOrigin): void {
    this.#listeners.emit(appended, origin)
  }

  /** Round trip to Redis, for health. */
  async ping(): Promise<void> {
    await this.#call(() => this.#redis.ping())
  }

  async close(): Promise<void> {
    this.#listeners.clear()
    if (this.#redis.status !== 'end' && this.#redis.status !== 'wait') await this.#redis.quit().catch(() => this.#redis.disconnect())
    else this.#redis.disconnect()
  }
}
