/**
 * The bus: the contract of contract.ts kept over any broker. Publishing validates and wraps the
 * payload; subscribing starts a runner (runner.ts) per subscription; the dead-letter queue is the
 * broker's store with replay on top; stopping drains every runner under one deadline.
 */
import { randomUUID } from 'node:crypto'
import { describeError, type Container, type HealthResult, type Logger } from '@plinth/core'
import type { BackoffOptions, Broker, DeadLetter, DeadLetterQueue, Handler, EventBus, Published, PublishOptions, StoredDeadLetter, SubscribeOptions, Subscription, Topic, WireMessage } from './contract.js'
import type { DedupeStore } from './dedupe.js'
import { decodeEnvelope, encodeEnvelope, withHeaders } from './envelope.js'
import { messagingErrors } from './errors.js'
import { silentObserver, type BusObserver } from './observer.js'
import { SubscriptionRunner } from './runner.js'
import { assertTopicName, validateForPublish } from './topic.js'

export interface BusOptions {
  broker: Broker
  /** The app's container: handlers then run in a "message" scope of their own. */
  container?: Container
  observer?: BusObserver
  log?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>
  /** This instance's consumer name within each group. Default a random id. */
  instanceId?: string
  /** Skips messages a group has already handled (by message id); per subscription with `dedupe`. */
  dedupe?: DedupeStore
}

export type BusState = 'created' | 'running' | 'degraded' | 'stopping' | 'stopped'

const defaultBackoff: Required<BackoffOptions> = { initialDelay: 100, maxDelay: 30_000, factor: 2, jitter: true }

function positiveInteger(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw messagingErrors.create('PLINTH_ERR_MESSAGING_INVALID_OPTIONS', `${name} of the subscription ${where} must be a whole number of at least 1; got ${JSON.stringify(value)}`)
  }
  return value
}

function duration(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw messagingErrors.create('PLINTH_ERR_MESSAGING_INVALID_OPTIONS', `${name} of the subscription ${where} must be a duration in milliseconds (0 or more); got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * The event bus over a broker: memory, Redis Streams or NATS JetStream. Apps get one from the
 * `messaging()` component; tests and tools build one directly.
 *
 * @example
 * const bus = new Bus({ broker: new MemoryBroker() })
 * await bus.start()
 * const Greeting = topic('greeting').of<{ name: string }>()
 * await bus.subscribe(Greeting, (m) => console.log(`hello ${m.payload.name}`), { group: 'greeter' })
 * await bus.publish(Greeting, { name: 'Ada' })
 * await bus.stop()
 */
export class Bus implements EventBus {
  readonly backend: Broker['kind']
  readonly broker: Broker
  readonly instanceId: string
  readonly #options: BusOptions
  readonly #observer: BusObserver
  readonly #runners = new Set<SubscriptionRunner<any>>()
  #state: BusState = 'created'
  #lastError: unknown

  constructor(options: BusOptions) {
    this.#options = options
    this.broker = options.broker
    this.backend = options.broker.kind
    this.instanceId = options.instanceId ?? randomUUID()
    this.#observer = options.observer ?? silentObserver
  }

  get state(): BusState {
    return this.#state
  }

  /**
   * Connects to the broker. With `optional`, a broker that cannot be reached leaves the bus
   * degraded (subscriptions keep trying, publishes fail until it is back) instead of throwing.
   */
  async start(options: { signal?: AbortSignal; optional?: boolean } = {}): Promise<void> {
    try {
      await this.broker.connect(options.signal)
      this.#state = 'running'
    } catch (error) {
      this.#lastError = error
      const failure = messagingErrors.create('PLINTH_ERR_MESSAGING_UNAVAILABLE', `the ${this.backend} message broker at ${this.broker.url} could not be reached: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
      if (options.optional !== true) {
        // Nothing may keep reconnecting in the background of an app that gave up starting.
        await this.broker.close().catch(() => undefined)
        this.#state = 'stopped'
        throw failure
      }
      this.#state = 'degraded'
      this.#options.log?.warn({ reason: describeError(failure) }, `the message broker is unavailable (${describeError(failure)}); the bus starts degraded`)
    }
  }

  #assertOpen(action: string): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      throw messagingErrors.create('PLINTH_ERR_MESSAGING_STOPPED', `cannot ${action}: the ${this.backend} bus is ${this.#state}`)
    }
  }

  publish<T>(topic: Topic<T>, message: T, options?: PublishOptions): Promise<Published> {
    // Not an async function: a publish the broker stores at once (in memory) costs one promise, the one returned.
    try {
      this.#assertOpen(`publish to "${topic.name}"`)
      if (topic.schema !== undefined) return this.#publishValid(topic, message, options)
      return this.#send(topic.name, encodeEnvelope(message, options))
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  async #publishValid<T>(topic: Topic<T>, message: T, options: PublishOptions | undefined): Promise<Published> {
    const payload = await validateForPublish(topic, message)
    return this.#send(topic.name, encodeEnvelope(payload, options))
  }

  #send(topic: string, wire: WireMessage): Promise<Published> {
    const persisted = this.broker.publish(topic, wire)
    if (persisted === undefined) {
      this.#observer.published(topic)
      return Promise.resolve({ id: wire.id, topic })
    }
    return persisted.then(() => {
      this.#observer.published(topic)
      return { id: wire.id, topic }
    })
  }

  async subscribe<T>(topic: Topic<T>, handler: Handler<T>, options: SubscribeOptions & { dedupe?: DedupeStore | false }): Promise<Subscription> {
    this.#assertOpen(`subscribe to "${topic.name}"`)
    assertTopicName(topic.name, topic.site)
    const where = `to "${topic.name}"`
    if (typeof options?.group !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(options.group)) {
      throw messagingErrors.create('PLINTH_ERR_MESSAGING_INVALID_OPTIONS', `group of the subscription ${where} must be 1 to 100 letters, digits, "_" or "-"; got ${JSON.stringify(options?.group)}`)
    }
    if (typeof handler !== 'function') throw messagingErrors.create('PLINTH_ERR_MESSAGING_INVALID_OPTIONS', `the handler of the subscription ${where} must be a function`)
    const backoff = { ...defaultBackoff, ...options.backoff }
    duration(backoff.initialDelay, 'backoff.initialDelay', where)
    duration(backoff.maxDelay, 'backoff.maxDelay', where)
    const runner = new SubscriptionRunner(
      handler,
      {
        topic,
        group: options.group,
        consumer: this.instanceId,
        concurrency: positiveInteger(options.concurrency ?? 1, 'concurrency', where),
        maxAttempts: positiveInteger(options.maxAttempts ?? 5, 'maxAttempts', where),
        ackTimeout: Math.max(1, duration(options.ackTimeout ?? 30_000, 'ackTimeout', where)),
        backoff,
        dedupe: options.dedupe === false ? undefined : (options.dedupe ?? this.#options.dedupe),
      },
      { broker: this.broker, container: this.#options.container, observer: this.#observer, log: this.#options.log },
    )
    await runner.open(this.#state === 'degraded')
    this.#runners.add(runner)
    return {
      topic: runner.topic,
      group: runner.group,
      close: async (signal, closeOptions) => {
        this.#runners.delete(runner)
        await runner.close(signal, closeOptions)
      },
    }
  }

  readonly deadLetters: DeadLetterQueue = {
    topics: () => this.broker.deadLetters.topics(),
    list: async (topic, options) => {
      const stored = await this.broker.deadLetters.list(topic, options?.limit ?? 100)
      return stored.map((letter) => toDeadLetter(topic, letter))
    },
    inspect: async (topic, id) => toDeadLetter(topic, await this.#deadLetter(topic, id)),
    replay: async (topic, id) => {
      this.#assertOpen(`replay dead letters of "${topic}"`)
      const letters = id === undefined ? await this.broker.deadLetters.list(topic, Number.MAX_SAFE_INTEGER) : [await this.#deadLetter(topic, id)]
      let replayed = 0
      for (const letter of letters) {
        const { id: messageId } = decodeEnvelope(topic, letter.body, 0)
        // The envelope keeps its message id (dedupe stores see the same message); the broker's
        // own id differs, or JetStream would drop the replay as a duplicate publish.
        // Published before it is removed: a crash in between replays it twice, never zero times.
        await this.broker.publish(topic, { id: `${messageId}/replay/${letter.id}`, body: withHeaders(letter.body, { 'x-replayed': String(Date.now()), 'x-replayed-from': letter.id }) })
        replayed += await this.broker.deadLetters.remove(topic, [letter.id])
      }
      return replayed
    },
    purge: async (topic, id) => {
      if (id === undefined) {
        const all = await this.broker.deadLetters.list(topic, Number.MAX_SAFE_INTEGER)
        return this.broker.deadLetters.remove(topic, all.map((letter) => letter.id))
      }
      await this.#deadLetter(topic, id)
      return this.broker.deadLetters.remove(topic, [id])
    },
  }

  async #deadLetter(topic: string, id: string): Promise<StoredDeadLetter> {
    const letter = await this.broker.deadLetters.get(topic, id)
    if (letter === undefined) throw messagingErrors.create('PLINTH_ERR_MESSAGING_DEAD_LETTER_NOT_FOUND', `no dead letter "${id}" in the dead-letter queue of "${topic}"`, { details: { topic, id } })
    return letter
  }

  /** Consumer lag of every subscription of this instance, by "topic/group". */
  async lag(): Promise<Record<string, number>> {
    const lags: Record<string, number> = {}
    await Promise.all([...this.#runners].map(async (runner) => (lags[`${runner.topic}/${runner.group}`] = await runner.lag().catch(() => -1))))
    return lags
  }

  /** Connection and consumer lag, for readiness and the circuit breaker. */
  async health(): Promise<HealthResult> {
    const details: Record<string, unknown> = { backend: this.backend, url: this.broker.url, state: this.#state }
    try {
      details.latencyMs = await this.broker.ping()
    } catch (error) {
      return { status: 'down', details: { ...details, error: error instanceof Error ? error.message : String(error) } }
    }
    details.lag = await this.lag()
    if (this.#state === 'degraded') this.#state = 'running'
    return { status: 'up', details }
  }

  /** Why the broker was unreachable at start, when it was. */
  get lastError(): unknown {
    return this.#lastError
  }

  /**
   * Stops every subscription (no new messages; handlers in flight finish and are acknowledged
   * until `signal` aborts; the rest is left for redelivery), then closes the broker connection.
   */
  async stop(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return
    this.#state = 'stopping'
    const runners = [...this.#runners]
    this.#runners.clear()
    await Promise.all(runners.map((runner) => runner.close(signal)))
    await this.broker.close()
    this.#state = 'stopped'
  }
}

function toDeadLetter(topic: string, letter: StoredDeadLetter): DeadLetter {
  let message: DeadLetter['message']
  try {
    const { attempt: _attempt, ...rest } = decodeEnvelope(topic, letter.body, 0)
    message = rest
  } catch {
    // Dead-lettered because it was not an envelope: show what arrived.
    message = { id: letter.id, topic, payload: letter.body, timestamp: letter.deadAt, correlationId: letter.id, causationId: undefined, key: undefined, headers: {} }
  }
  return { id: letter.id, topic, group: letter.group, error: letter.error, attempts: letter.attempts, deadAt: letter.deadAt, message }
}
