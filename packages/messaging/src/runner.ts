/**
 * One subscription at work on one instance: takes deliveries from the broker's consumer up to
 * its concurrency, runs the handler in a "message" scope, then acknowledges, retries with
 * backoff, or dead-letters. The same code runs over every backend, so the contract is kept once.
 */
import { describeError, sleep, type Container, type Logger } from '@plinth/core'
import type { BackoffOptions, Broker, BrokerConsumer, Delivery, Handler, Message, Subscription, Topic } from './contract.js'
import type { DedupeStore } from './dedupe.js'
import { decodeEnvelope, runAsCause } from './envelope.js'
import type { BusObserver } from './observer.js'
import { schemaProblems } from './topic.js'

export interface RunnerSettings {
  readonly topic: Topic<any>
  readonly group: string
  readonly consumer: string
  readonly concurrency: number
  readonly maxAttempts: number
  readonly backoff: Required<BackoffOptions>
  readonly ackTimeout: number
  readonly dedupe: DedupeStore | undefined
}

export interface RunnerContext {
  readonly broker: Broker
  readonly container: Container | undefined
  readonly observer: BusObserver
  readonly log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'> | undefined
}

/**
 * The delay before retry number `retry` (1 for the first): exponential, capped, and with full
 * jitter so that instances that failed together do not retry in step.
 *
 * @example
 * backoffDelay({ initialDelay: 100, maxDelay: 30_000, factor: 2, jitter: false }, 3) // 400
 */
export function backoffDelay(policy: Required<BackoffOptions>, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** (retry - 1))
  return policy.jitter ? Math.round(random() * ceiling) : ceiling
}

/** The reason a dead letter carries: the error's class and message. */
const failureText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))

export class SubscriptionRunner<T> implements Subscription {
  readonly topic: string
  readonly group: string
  readonly #settings: RunnerSettings
  readonly #context: RunnerContext
  readonly #handler: Handler<T>
  readonly #stop = new AbortController()
  readonly #scoped: boolean
  #consumer: BrokerConsumer | undefined
  #loop: Promise<void> | undefined
  #active = 0
  #slotFreed: (() => void) | undefined
  #idle: (() => void) | undefined
  /** Keys with a message in flight here, each with the deliveries waiting behind it (delivery, message, delivery, ...). */
  readonly #keys = new Map<string, Array<Delivery | Message>>()
  /** No schema to check on receive and no dedupe store: the handler can be called straight away. */
  readonly #plain: boolean
  #closed: Promise<void> | undefined

  constructor(handler: Handler<T>, settings: RunnerSettings, context: RunnerContext) {
    this.topic = settings.topic.name
    this.group = settings.group
    this.#handler = handler
    this.#settings = settings
    this.#context = context
    // Opening a scope costs an AsyncLocalStorage run: only when something lives in it (as the HTTP server does).
    this.#scoped = context.container?.usesScope('message') ?? false
    this.#plain = settings.topic.schema === undefined && settings.dedupe === undefined
  }

  /** Messages of the group not yet delivered, or -1 when unknown. */
  async lag(): Promise<number> {
    return this.#consumer === undefined ? -1 : this.#consumer.lag()
  }

  /** Creates the consumer (and its group) once; `background` keeps trying when the broker is away. */
  async open(background: boolean): Promise<void> {
    try {
      this.#consumer = await this.#openConsumer()
    } catch (error) {
      if (!background) throw error
      this.#context.log?.warn({ reason: describeError(error), topic: this.topic, group: this.group }, `the broker is unavailable (${describeError(error)}); the subscription keeps trying`)
    }
    this.#loop = this.#run()
  }

  #openConsumer(): Promise<BrokerConsumer> {
    const { topic, group, consumer, ackTimeout } = this.#settings
    return this.#context.broker.consumer(topic.name, group, { consumer, ackTimeout })
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal
    const { concurrency } = this.#settings
    let failures = 0
    let warned = 0
    while (!signal.aborted) {
      if (this.#active >= concurrency) {
        await new Promise<void>((resolve) => (this.#slotFreed = resolve))
        continue
      }
      let deliveries: Delivery[]
      try {
        this.#consumer ??= await this.#openConsumer()
        deliveries = await this.#consumer.fetch(concurrency - this.#active, signal)
        if (failures > 0) this.#context.log?.info({ topic: this.topic, group: this.group }, `fetching messages of ${this.topic} works again after ${failures} failed attempt(s)`)
        failures = 0
      } catch (error) {
        if (signal.aborted) break
        // One warning when fetching starts to fail and a reminder at most once a minute while it
        // goes on, with the count; the attempts in between are at debug, the recovery at info.
        const now = Date.now()
        const warn = failures === 0 || now - warned >= 60_000
        if (warn) warned = now
        failures++
        const reason = describeError(error)
        const fields = { reason, topic: this.topic, group: this.group, failures }
        if (warn) this.#context.log?.warn(fields, `fetching messages of ${this.topic} failed${failures > 1 ? ` ${failures} times` : ''} (${reason}); trying again`)
        else this.#context.log?.debug(fields, `fetching messages of ${this.topic} failed again (${reason})`)
        await sleep(Math.min(5_000, 50 * 2 ** Math.min(failures, 7)), signal).catch(() => undefined) // a stop cuts the wait short
        continue
      }
      // Handlers that returned synchronously free their slots at once: drain what is ready now
      // in this turn, up to the concurrency, instead of one batch per turn of the event loop
      // (a producer that publishes a batch per turn would otherwise outrun the consumer).
      const consumer = this.#consumer
      while (deliveries.length > 0) {
        for (const delivery of deliveries) this.#dispatch(delivery)
        if (consumer.poll === undefined || this.#active >= concurrency || signal.aborted) break
        deliveries = consumer.poll(concurrency - this.#active)
      }
    }
  }

  /**
   * Takes one delivery on: it holds a slot of the concurrency until it is settled. A message
   * whose key has another message in flight here waits behind it, so messages of one key are
   * handled one at a time, in the order they came; other keys go on meanwhile.
   */
  #dispatch(delivery: Delivery): void {
    this.#active++
    let message: Message
    try {
      message = decodeEnvelope(this.topic, delivery.envelope ?? delivery.body, delivery.attempt)
    } catch (error) {
      this.#context.observer.delivered(this.topic, this.group)
      this.#track(this.#deadLetter(delivery, `undecodable message: ${failureText(error)}`), undefined)
      return
    }
    const key = message.key
    if (key !== undefined) {
      const waiting = this.#keys.get(key)
      if (waiting !== undefined) {
        waiting.push(delivery, message)
        return
      }
      this.#keys.set(key, [])
    }
    this.#process(delivery, message)
  }

  #process(delivery: Delivery, message: Message): void {
    const { maxAttempts } = this.#settings
    if (!this.#plain || delivery.attempt > maxAttempts) {
      this.#track(this.#handle(delivery, message), message.key)
      return
    }
    // The common case, without a promise of its own: no schema to check on receive, no dedupe
    // store to ask, and a handler that returns synchronously is acknowledged at once.
    const observer = this.#context.observer
    observer.delivered(this.topic, this.group)
    const started = performance.now()
    let result: void | Promise<void>
    try {
      result = this.#invoke(message as Message<T>)
    } catch (error) {
      this.#track(this.#failed(delivery, error, started), message.key)
      return
    }
    if (result !== undefined && typeof (result as { then?: unknown }).then === 'function') {
      this.#track(this.#completed(delivery, message, result, started), message.key)
      return
    }
    observer.handled(this.topic, this.group, (performance.now() - started) / 1000, true)
    let acked: Promise<void> | void
    try {
      acked = delivery.ack()
    } catch (error) {
      this.#settleFailed(error)
      this.#finished(message.key)
      return
    }
    if (acked === undefined) {
      observer.acked(this.topic, this.group)
      this.#finished(message.key)
    } else {
      this.#track(acked.then(() => observer.acked(this.topic, this.group)), message.key)
    }
  }

  /** Frees the slot and the key of a delivery once `settling` is done, whatever its outcome. */
  #track(settling: Promise<void>, key: string | undefined): void {
    settling.then(
      () => this.#finished(key),
      (error: unknown) => {
        this.#settleFailed(error)
        this.#finished(key)
      },
    )
  }

  #finished(key: string | undefined): void {
    this.#active--
    const freed = this.#slotFreed
    if (freed !== undefined) {
      this.#slotFreed = undefined
      freed()
    }
    if (key !== undefined) {
      const waiting = this.#keys.get(key)
      if (waiting === undefined || waiting.length === 0) this.#keys.delete(key)
      else if (this.#stop.signal.aborted) {
        // Stopping: what waits behind its key has not started; it stays unacknowledged, for redelivery.
        this.#keys.delete(key)
        this.#active -= waiting.length / 2
      } else this.#process(waiting.shift() as Delivery, waiting.shift() as Message)
    }
    if (this.#active === 0) this.#idle?.()
  }

  #settleFailed(error: unknown): void {
    // The broker refused the ack, retry or dead-letter: the message stays unacknowledged and
    // comes back after ackTimeout, which is at-least-once, never lost.
    this.#context.log?.warn({ reason: describeError(error), topic: this.topic, group: this.group }, `settling a message with the broker failed (${describeError(error)}); it will be delivered again`)
  }

  /** Every step of a message, for subscriptions with a schema or a dedupe store, and for messages past their attempts. */
  async #handle(delivery: Delivery, received: Message): Promise<void> {
    const { topic, group, maxAttempts, dedupe } = this.#settings
    const observer = this.#context.observer
    observer.delivered(topic.name, group)
    let message = received
    if (delivery.attempt > maxAttempts) {
      // Taken over again and again (its consumers died or overran ackTimeout): do not let it crash one more.
      return this.#deadLetter(delivery, `no acknowledgement after ${delivery.attempt - 1} deliveries (consumers stopped or overran ackTimeout)`)
    }
    if (topic.schema !== undefined) {
      const { value, problems } = await schemaProblems(topic.schema, message.payload)
      if (problems !== undefined) return this.#deadLetter(delivery, `invalid message: ${problems.join('; ')}`)
      message = { ...message, payload: value }
    }
    if (dedupe !== undefined && (await dedupe.seen(group, message.id))) {
      observer.deduplicated(topic.name, group)
      await delivery.ack()
      return
    }
    const started = performance.now()
    let result: void | Promise<void>
    try {
      result = this.#invoke(message as Message<T>)
    } catch (error) {
      return this.#failed(delivery, error, started)
    }
    return this.#completed(delivery, message, result, started)
  }

  /** Waits for the handler, then acknowledges (or retries, or dead-letters). */
  async #completed(delivery: Delivery, message: Message, result: void | Promise<void>, started: number): Promise<void> {
    try {
      await result
    } catch (error) {
      return this.#failed(delivery, error, started)
    }
    const { topic, group, dedupe } = this.#settings
    this.#context.observer.handled(topic.name, group, (performance.now() - started) / 1000, true)
    if (dedupe !== undefined) await dedupe.remember(group, message.id)
    await delivery.ack()
    this.#context.observer.acked(topic.name, group)
  }

  /** A handler that threw: another attempt after the backoff, or the dead-letter queue after the last. */
  async #failed(delivery: Delivery, error: unknown, started: number): Promise<void> {
    const { topic, group, maxAttempts } = this.#settings
    const observer = this.#context.observer
    observer.handled(topic.name, group, (performance.now() - started) / 1000, false)
    if (delivery.attempt >= maxAttempts) return this.#deadLetter(delivery, failureText(error))
    observer.retried(topic.name, group)
    await delivery.retry(backoffDelay(this.#settings.backoff, delivery.attempt))
  }

  async #deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await delivery.deadLetter(reason, delivery.attempt)
    this.#context.observer.deadLettered(this.topic, this.group)
  }

  /**
   * Runs the handler with the message as the cause of what it publishes and, when the app has
   * providers in the "message" scope, in a scope of its own. The scope is opened synchronously
   * and disposed at once when the handler returned without building anything in it, so a
   * synchronous handler costs no promise.
   */
  #invoke(message: Message<T>): void | Promise<void> {
    const container = this.#context.container
    if (!this.#scoped || container === undefined) return runAsCause(message, () => this.#handler(message))
    const scope = container.createScope('message')
    let result: void | Promise<void>
    try {
      result = scope.run(() => runAsCause(message, () => this.#handler(message)))
    } catch (error) {
      if (scope.created.length === 0) throw error
      return scope.dispose().then(() => Promise.reject(error as Error))
    }
    if (result !== undefined && typeof (result as { then?: unknown }).then === 'function') {
      return Promise.resolve(result).finally(() => scope.dispose())
    }
    if (scope.created.length > 0) return scope.dispose()
    return result
  }

  /**
   * Stops taking messages, waits for the handlers in flight until `signal` aborts (their
   * messages are acknowledged as each finishes), then releases the consumer. What has not
   * finished stays unacknowledged, for redelivery.
   */
  close(signal?: AbortSignal, options: { forget?: boolean } = {}): Promise<void> {
    return (this.#closed ??= this.#close(signal, options))
  }

  async #close(signal: AbortSignal | undefined, options: { forget?: boolean }): Promise<void> {
    this.#stop.abort()
    this.#slotFreed?.()
    await this.#loop
    if (this.#active > 0 && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve
        signal?.addEventListener('abort', () => resolve(), { once: true })
      })
    }
    if (this.#active > 0) {
      this.#context.log?.warn({ topic: this.topic, group: this.group, unfinished: this.#active }, 'handlers still running at the stop deadline; their messages will be delivered again')
    }
    await this.#consumer?.close(options)
  }

  /** Handlers running now. */
  get active(): number {
    return this.#active
  }
}
