/**
 * One subscription at work on one instance: takes deliveries from the broker's consumer up to
 * its concurrency, runs the handler in a "message" scope, then acknowledges, retries with
 * backoff, or dead-letters. The same code runs over every backend, so the contract is kept once.
 */
import { sleep, type Container, type Logger } from '@plinth/core'
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
  readonly log: Pick<Logger, 'warn' | 'error'> | undefined
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

const describeError = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))

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
  #closed: Promise<void> | undefined

  constructor(handler: Handler<T>, settings: RunnerSettings, context: RunnerContext) {
    this.topic = settings.topic.name
    this.group = settings.group
    this.#handler = handler
    this.#settings = settings
    this.#context = context
    // Opening a scope costs an AsyncLocalStorage run: only when something lives in it (as the HTTP server does).
    this.#scoped = context.container?.usesScope('message') ?? false
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
      this.#context.log?.warn({ err: error, topic: this.topic, group: this.group }, 'the broker is unavailable; the subscription keeps trying')
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
    while (!signal.aborted) {
      if (this.#active >= concurrency) {
        await new Promise<void>((resolve) => (this.#slotFreed = resolve))
        continue
      }
      let deliveries: Delivery[]
      try {
        this.#consumer ??= await this.#openConsumer()
        deliveries = await this.#consumer.fetch(concurrency - this.#active, signal)
        failures = 0
      } catch (error) {
        if (signal.aborted) break
        failures++
        this.#context.log?.warn({ err: error, topic: this.topic, group: this.group }, 'fetching messages failed; trying again')
        await sleep(Math.min(5_000, 50 * 2 ** Math.min(failures, 7)), signal).catch(() => undefined) // a stop cuts the wait short
        continue
      }
      for (const delivery of deliveries) {
        this.#active++
        void this.#handle(delivery).finally(() => this.#finished())
      }
    }
  }

  #finished(): void {
    this.#active--
    const freed = this.#slotFreed
    if (freed !== undefined) {
      this.#slotFreed = undefined
      freed()
    }
    if (this.#active === 0) this.#idle?.()
  }

  async #handle(delivery: Delivery): Promise<void> {
    const { topic, group, maxAttempts, dedupe } = this.#settings
    const observer = this.#context.observer
    observer.delivered(topic.name, group)
    try {
      let message: Message
      try {
        message = decodeEnvelope(topic.name, delivery.envelope ?? delivery.body, delivery.attempt)
      } catch (error) {
        return await this.#deadLetter(delivery, `undecodable message: ${describeError(error)}`)
      }
      if (delivery.attempt > maxAttempts) {
        // Taken over again and again (its consumers died or overran ackTimeout): do not let it crash one more.
        return await this.#deadLetter(delivery, `no acknowledgement after ${delivery.attempt - 1} deliveries (consumers stopped or overran ackTimeout)`)
      }
      if (topic.schema !== undefined) {
        const { value, problems } = await schemaProblems(topic.schema, message.payload)
        if (problems !== undefined) return await this.#deadLetter(delivery, `invalid message: ${problems.join('; ')}`)
        message = { ...message, payload: value }
      }
      if (dedupe !== undefined && (await dedupe.seen(group, message.id))) {
        observer.deduplicated(topic.name, group)
        await delivery.ack()
        return
      }
      const started = performance.now()
      try {
        await this.#invoke(message as Message<T>)
      } catch (error) {
        observer.handled(topic.name, group, (performance.now() - started) / 1000, false)
        if (delivery.attempt >= maxAttempts) return await this.#deadLetter(delivery, describeError(error))
        observer.retried(topic.name, group)
        await delivery.retry(backoffDelay(this.#settings.backoff, delivery.attempt))
        return
      }
      observer.handled(topic.name, group, (performance.now() - started) / 1000, true)
      if (dedupe !== undefined) await dedupe.remember(group, message.id)
      await delivery.ack()
      observer.acked(topic.name, group)
    } catch (error) {
      // The broker refused the ack, retry or dead-letter: the message stays unacknowledged and
      // comes back after ackTimeout, which is at-least-once, never lost.
      this.#context.log?.error({ err: error, topic: topic.name, group }, 'settling a message with the broker failed; it will be delivered again')
    }
  }

  async #deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await delivery.deadLetter(reason, delivery.attempt)
    this.#context.observer.deadLettered(this.topic, this.group)
  }

  #invoke(message: Message<T>): void | Promise<void> {
    const container = this.#context.container
    if (this.#scoped && container !== undefined) {
      return container.runInScope('message', () => runAsCause(message, () => this.#handler(message)))
    }
    return runAsCause(message, () => this.#handler(message))
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
