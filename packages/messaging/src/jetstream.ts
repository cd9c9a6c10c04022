/**
 * The NATS JetStream broker (@nats-io/jetstream): a stream per topic (subject `plinth.<topic>`),
 * a durable pull consumer per group with explicit acks, AckWait as the takeover timeout (the
 * server redelivers, counting deliveries), nak with a delay for retries, and a dead-letter
 * stream per topic.
 *
 * JetStream has no transaction across streams, so the dead-letter step publishes to the
 * dead-letter stream first (with a message id the server deduplicates) and acknowledges once
 * that is confirmed: a crash in between redelivers the message, which fails again and is
 * dead-lettered again under the same id, never twice and never lost.
 */
import type { Consumer, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Broker, BrokerConsumer, DeadLetterStore, Delivery, StoredDeadLetter, WireMessage } from './contract.js'
import { messagingErrors } from './errors.js'
import { maskUrl } from './url.js'

export interface JetStreamBrokerOptions {
  /** nats:// URL (a comma-separated list of servers is accepted). */
  url: string
  /** Prefix of subjects and stream names. Default "plinth". */
  prefix?: string
  /** Messages kept per topic stream (oldest discarded past it). Default 100 000. */
  maxLen?: number
}

// The NATS client loads when a bus first connects to NATS, not with @plinth/messaging: an app on
// memory or Redis neither pays for it nor needs it installed.
const loadClient = async () => {
  const [{ connect }, { jetstream, jetstreamManager }] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')])
  return { connect, jetstream, jetstreamManager }
}
const nanos = (ms: number) => ms * 1_000_000

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const notFound = (error: unknown) => error instanceof Error && /not found/i.test(error.message)

/** A stream name JetStream accepts for a topic ("telemetry.reading" -> "PLINTH_telemetry_reading"). */
const streamNameOf = (prefix: string, topic: string) => `${prefix.toUpperCase()}_${topic.replace(/\./g, '_')}`

/**
 * The NATS JetStream broker.
 *
 * @example
 * const bus = new Bus({ broker: new JetStreamBroker({ url: 'nats://127.0.0.1:4222' }) })
 */
export class JetStreamBroker implements Broker {
  readonly kind = 'nats'
  readonly url: string
  readonly #options: JetStreamBrokerOptions
  readonly #prefix: string
  readonly #ready = new Map<string, Promise<void>>()
  readonly #consumers = new Set<JetStreamConsumer>()
  #nc: NatsConnection | undefined
  #js: JetStreamClient | undefined
  #jsm: JetStreamManager | undefined

  constructor(options: JetStreamBrokerOptions) {
    this.#options = options
    this.url = options.url.split(',').map(maskUrl).join(',')
    this.#prefix = options.prefix ?? 'plinth'
  }

  subjectOf(topic: string): string {
    return `${this.#prefix}.${topic}`
  }

  deadLetterSubjectOf(topic: string): string {
    return `${this.#prefix}-dlq.${topic}`
  }

  streamOf(topic: string): string {
    return streamNameOf(this.#prefix, topic)
  }

  deadLetterStreamOf(topic: string): string {
    return `${streamNameOf(this.#prefix, topic)}_DLQ`
  }

  async connect(): Promise<void> {
    if (this.#nc !== undefined && !this.#nc.isClosed()) return
    // Reconnects for ever once connected: a restarted server is picked up again.
    const { connect, jetstream, jetstreamManager } = await loadClient()
    this.#nc = await connect({ servers: this.#options.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'plinth-messaging' })
    this.#js = jetstream(this.#nc)
    this.#jsm = await jetstreamManager(this.#nc)
  }

  get #manager(): JetStreamManager {
    if (this.#jsm === undefined) throw messagingErrors.create('PLINTH_ERR_MESSAGING_UNAVAILABLE', `the NATS broker at ${this.url} is not connected; start the bus first`)
    return this.#jsm
  }

  /** Connects when the first attempt at start failed (the bus started degraded). */
  async #connected(): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
    if (this.#jsm === undefined || this.#js === undefined) await this.connect()
    return { js: this.#js!, jsm: this.#jsm! }
  }

  async ping(): Promise<number> {
    const { jsm } = await this.#connected()
    const started = performance.now()
    await jsm.getAccountInfo()
    return performance.now() - started
  }

  /** Creates a stream once per process (and accepts one another instance created). */
  #stream(name: string, subject: string): Promise<void> {
    let ready = this.#ready.get(name)
    if (ready === undefined) {
      ready = (async () => {
        const { jsm } = await this.#connected()
        try {
          await jsm.streams.info(name)
        } catch (error) {
          if (!notFound(error)) throw error
          await jsm.streams.add({ name, subjects: [subject], storage: 'file', max_msgs: this.#options.maxLen ?? 100_000, discard: 'old', num_replicas: 1 })
        }
      })()
      ready.catch(() => this.#ready.delete(name))
      this.#ready.set(name, ready)
    }
    return ready
  }

  async publish(topic: string, message: WireMessage): Promise<void> {
    await this.#stream(this.streamOf(topic), this.subjectOf(topic))
    const { js } = await this.#connected()
    // The message id lets the server drop a duplicate of a publish retried after a lost PubAck.
    await js.publish(this.subjectOf(topic), encoder.encode(message.body), { msgID: message.id })
  }

  async consumer(topic: string, group: string, options: { consumer: string; ackTimeout: number }): Promise<BrokerConsumer> {
    const stream = this.streamOf(topic)
    await this.#stream(stream, this.subjectOf(topic))
    const { js, jsm } = await this.#connected()
    const ackWait = nanos(options.ackTimeout)
    try {
      const info = await jsm.consumers.info(stream, group)
      if (info.config.ack_wait !== ackWait) await jsm.consumers.update(stream, group, { ack_wait: ackWait })
    } catch (error) {
      if (!notFound(error)) throw error
      // max_deliver stays unlimited: the bus dead-letters at maxAttempts; a server-side limit
      // would drop the message silently instead.
      await jsm.consumers.add(stream, {
        durable_name: group,
        ack_policy: 'explicit',
        ack_wait: ackWait,
        max_deliver: -1,
        deliver_policy: 'new',
        filter_subject: this.subjectOf(topic),
        max_ack_pending: 10_000,
      })
    }
    const consumer = new JetStreamConsumer(await js.consumers.get(stream, group), {
      group,
      deadLetter: async (reason, attempts, msg) => {
        const dlq = this.deadLetterStreamOf(topic)
        await this.#stream(dlq, this.deadLetterSubjectOf(topic))
        const letter = JSON.stringify({ m: msg.string(), g: group, e: reason, a: attempts, t: Date.now() })
        await js.publish(this.deadLetterSubjectOf(topic), encoder.encode(letter), { msgID: `${stream}:${msg.seq}:${group}` })
      },
      forget: () => jsm.consumers.delete(stream, group).then(() => undefined),
    })
    this.#consumers.add(consumer)
    consumer.onClose(() => this.#consumers.delete(consumer))
    return consumer
  }

  readonly deadLetters: DeadLetterStore = {
    topics: async () => {
      const found: Array<{ topic: string; count: number }> = []
      const subjectPrefix = `${this.#prefix}-dlq.`
      for await (const info of this.#manager.streams.list()) {
        if (!info.config.name.endsWith('_DLQ') || info.state.messages === 0) continue
        const subject = info.config.subjects?.[0] ?? ''
        if (subject.startsWith(subjectPrefix)) found.push({ topic: subject.slice(subjectPrefix.length), count: info.state.messages })
      }
      return found.sort((a, b) => a.topic.localeCompare(b.topic))
    },
    list: async (topic, limit) => {
      const stream = this.deadLetterStreamOf(topic)
      const jsm = this.#manager
      const info = await jsm.streams.info(stream).catch((error: unknown) => {
        if (notFound(error)) return undefined
        throw error
      })
      if (info === undefined) return []
      const letters: StoredDeadLetter[] = []
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && letters.length < limit; seq++) {
        const letter = await this.deadLetters.get(topic, String(seq))
        if (letter !== undefined) letters.push(letter)
      }
      return letters
    },
    get: async (topic, id) => {
      const seq = Number(id)
      if (!Number.isSafeInteger(seq) || seq < 1) return undefined
      const stored = await this.#manager.streams.getMessage(this.deadLetterStreamOf(topic), { seq }).catch(() => null)
      if (stored === null) return undefined
      const letter = JSON.parse(decoder.decode(stored.data)) as { m: string; g: string; e: string; a: number; t: number }
      return { id: String(stored.seq), body: letter.m, group: letter.g, error: letter.e, attempts: letter.a, deadAt: letter.t }
    },
    remove: async (topic, ids) => {
      let removed = 0
      for (const id of ids) {
        const ok = await this.#manager.streams.deleteMessage(this.deadLetterStreamOf(topic), Number(id), false).catch(() => false)
        if (ok) removed++
      }
      return removed
    },
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((consumer) => consumer.close()))
    const nc = this.#nc
    this.#nc = this.#js = this.#jsm = undefined
    this.#ready.clear()
    if (nc === undefined || nc.isClosed()) return
    // Sends what is buffered (acks of handlers that finished) before closing.
    await nc.flush().catch(() => undefined)
    await nc.close()
  }
}

interface ConsumerHooks {
  group: string
  deadLetter(reason: string, attempts: number, msg: JsMsg): Promise<void>
  forget(): Promise<void>
}

class JetStreamConsumer implements BrokerConsumer {
  readonly #consumer: Consumer
  readonly #hooks: ConsumerHooks
  readonly #onClose: Array<() => void> = []
  #closed = false

  constructor(consumer: Consumer, hooks: ConsumerHooks) {
    this.#consumer = consumer
    this.#hooks = hooks
  }

  onClose(listener: () => void): void {
    this.#onClose.push(listener)
  }

  #delivery(msg: JsMsg): Delivery {
    return {
      body: msg.string(),
      attempt: msg.info.deliveryCount,
      ack: async () => {
        msg.ack()
        return Promise.resolve()
      },
      retry: (delay) => {
        msg.nak(delay)
        return Promise.resolve()
      },
      deadLetter: async (reason, attempts) => {
        await this.#hooks.deadLetter(reason, attempts, msg)
        await msg.ackAck()
      },
    }
  }

  #pull: { stop(): void } | undefined
  #pulling: Promise<void> | undefined
  readonly #buffer: JsMsg[] = []
  #wake: (() => void) | undefined

  /**
   * One pull request at a time, for no more messages than the caller has room for: messages
   * arrive one by one and are handed over at once, and an instance whose handlers are all busy
   * holds nothing it cannot start, so redeliveries go to consumers with room.
   */
  #startPull(max: number): void {
    this.#pulling = (async () => {
      const messages = await this.#consumer.fetch({ max_messages: max, expires: 1_000 })
      this.#pull = messages
      for await (const msg of messages) {
        if (this.#closed) msg.nak()
        else this.#buffer.push(msg)
        this.#wake?.()
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        this.#pull = this.#pulling = undefined
        this.#wake?.()
      })
  }

  async fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    if (this.#buffer.length === 0 && !this.#closed && !signal.aborted) {
      if (this.#pulling === undefined) this.#startPull(max)
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#wake = undefined
          signal.removeEventListener('abort', done)
          resolve()
        }
        this.#wake = done
        signal.addEventListener('abort', done, { once: true })
      })
    }
    return this.#buffer.splice(0, max).map((msg) => this.#delivery(msg))
  }

  async lag(): Promise<number> {
    return (await this.#consumer.info()).num_pending
  }

  async close(options?: { forget?: boolean }): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#pull?.stop()
    // Pulled but not handed to a handler: back to the server at once rather than after AckWait.
    for (const msg of this.#buffer.splice(0)) msg.nak()
    this.#wake?.()
    if (options?.forget === true) await this.#hooks.forget().catch(() => undefined)
    for (const listener of this.#onClose) listener()
  }
}
