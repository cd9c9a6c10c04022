/**
 * The delivery contract every backend keeps: what a message is, how it is published and
 * subscribed to, and what the dead-letter queue holds. Imports nothing of the package but types.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'

/** A declared topic: its name, and optionally a Standard Schema its messages must match. */
export interface Topic<T = unknown> {
  readonly name: string
  readonly schema: StandardSchemaV1<unknown, T> | undefined
  /** Where the topic was declared ("file:line"), for errors. */
  readonly site: string
  /** Type carrier only; never set. */
  readonly __message?: T
}

/** The type of a topic's messages. */
export type MessageOf<Tp> = Tp extends Topic<infer T> ? T : never

/** Headers a publisher attaches to a message: strings only, as every broker carries them. */
export type Headers = Record<string, string>

/**
 * A message as a handler receives it: the payload with everything the bus knows about it.
 * `correlationId` is shared by every message caused, directly or not, by one request or
 * message; `causationId` is the id of the message (or request) that caused this one.
 */
export interface Message<T = unknown> {
  readonly id: string
  readonly topic: string
  readonly payload: T
  /** When it was published, milliseconds since the epoch. */
  readonly timestamp: number
  readonly correlationId: string
  readonly causationId: string | undefined
  readonly key: string | undefined
  readonly headers: Readonly<Headers>
  /** 1 on the first delivery, 2 on the first retry or takeover, ... */
  readonly attempt: number
}

export interface PublishOptions {
  /** An entity id, a device id: messages with the same key are handled one at a time, in order, on an instance. */
  key?: string
  headers?: Headers
  /** Overrides the correlation id taken from the current scope. */
  correlationId?: string
  /** Overrides the causation id taken from the current scope. */
  causationId?: string
}

/** What `publish` resolves to once the broker has persisted the message. */
export interface Published {
  readonly id: string
  readonly topic: string
}

/** Exponential backoff with full jitter between a handler's attempts. */
export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds. Default 100. */
  initialDelay?: number
  /** Upper bound of any delay. Default 30 000. */
  maxDelay?: number
  /** Growth per attempt. Default 2. */
  factor?: number
  /** Randomise each delay between 0 and its computed value. Default true. */
  jitter?: boolean
}

export interface SubscribeOptions {
  /** The consumer group: instances in one group share the messages; each group gets every message. */
  group: string
  /** Handlers of this subscription running at once, on this instance. Default 1. */
  concurrency?: number
  /** Attempts before the message goes to the dead-letter queue, the first included. Default 5. */
  maxAttempts?: number
  backoff?: BackoffOptions
  /** How long a delivered message may stay unacknowledged before another consumer of the group takes it over. Default 30 000. */
  ackTimeout?: number
}

/** A message handler: the message is acknowledged once the returned promise resolves. */
export type Handler<T> = (message: Message<T>) => void | Promise<void>

/** A running subscription. */
export interface Subscription {
  readonly topic: string
  readonly group: string
  /**
   * Stops taking messages, waits for handlers in flight (until `signal` aborts), and releases
   * the consumer; `forget` also deletes the group from the broker (for per-instance groups).
   */
  close(signal?: AbortSignal, options?: { forget?: boolean }): Promise<void>
}

/** A message that failed for good, as the dead-letter queue keeps it. */
export interface DeadLetter {
  /** The dead letter's own id in the queue. */
  readonly id: string
  readonly topic: string
  /** The group whose handler gave up on it. */
  readonly group: string
  /** Why: the handler's last error message, or the validation failure. */
  readonly error: string
  readonly attempts: number
  /** When it was dead-lettered, milliseconds since the epoch. */
  readonly deadAt: number
  /** The original message, headers and ids as published. */
  readonly message: Omit<Message, 'attempt'>
}

/** The dead-letter queue as an operator uses it. */
export interface DeadLetterQueue {
  /** Topics with dead letters, and how many each holds. */
  topics(): Promise<Array<{ topic: string; count: number }>>
  /** The oldest dead letters of a topic first. */
  list(topic: string, options?: { limit?: number }): Promise<DeadLetter[]>
  /** One dead letter, or PLINTH_ERR_MESSAGING_DEAD_LETTER_NOT_FOUND. */
  inspect(topic: string, id: string): Promise<DeadLetter>
  /** Publishes dead letters again into their topic (same message id, `x-replayed` header) and removes them; all when no id is given. Resolves to how many. */
  replay(topic: string, id?: string): Promise<number>
  /** Removes dead letters, one or all; resolves to how many. */
  purge(topic: string, id?: string): Promise<number>
}

/** The event bus. */
export interface EventBus {
  /** Which backend carries the messages. */
  readonly backend: 'memory' | 'redis' | 'nats'
  /** Resolves once the broker has persisted the message. */
  publish<T>(topic: Topic<T>, message: T, options?: PublishOptions): Promise<Published>
  subscribe<T>(topic: Topic<T>, handler: Handler<T>, options: SubscribeOptions): Promise<Subscription>
  readonly deadLetters: DeadLetterQueue
}

// ---------------------------------------------------------------------------------------------
// The backend side: what a broker must offer for the bus to keep the contract on top of it.
// ---------------------------------------------------------------------------------------------

/** A message on the wire: the envelope serialised once, as JSON (on first read of `body`). */
export interface WireMessage {
  readonly id: string
  readonly body: string
  /** The envelope as an object, for an in-process broker that hands it over without serialising. */
  readonly envelope?: object
}

/** One delivery of a message to a consumer. */
export interface Delivery {
  /** The serialised envelope. */
  readonly body: string
  /** The envelope as an object, when the broker handed it over unserialised (the memory broker with `copy: false`). */
  readonly envelope?: object
  readonly attempt: number
  /** Acknowledges: the group is done with this message. An in-process broker settles at once and returns nothing (no promise per message). */
  ack(): Promise<void> | void
  /** Hands the message back for another attempt after `delay` ms (to this or another consumer). */
  retry(delay: number): Promise<void>
  /** Acknowledges and adds to the topic's dead-letter queue in one atomic step. */
  deadLetter(reason: string, attempts: number): Promise<void>
}

/** A consumer of one group on one topic, on one instance. */
export interface BrokerConsumer {
  /** Up to `max` deliveries; waits until there is at least one, or `signal` aborts (then resolves to []). */
  fetch(max: number, signal: AbortSignal): Promise<Delivery[]>
  /**
   * Up to `max` deliveries that are ready now, without waiting (an in-process broker offers it):
   * the runner drains a backlog in one turn of the event loop rather than a batch per turn.
   */
  poll?(max: number): Delivery[]
  /** Messages of the group not yet delivered (or -1 when the broker cannot say). */
  lag(): Promise<number>
  /** Releases the consumer; unacknowledged messages stay for redelivery. `forget` also removes the group. */
  close(options?: { forget?: boolean }): Promise<void>
}

/** A message broker as the bus uses it. */
export interface Broker {
  readonly kind: 'memory' | 'redis' | 'nats'
  /** The broker's URL with any password masked. */
  readonly url: string
  connect(signal?: AbortSignal): Promise<void>
  /** Resolves to the round-trip time in ms; rejects when the broker is unreachable. */
  ping(): Promise<number>
  /** Resolves once persisted; an in-process broker that stored the message at once returns nothing (no promise per message). */
  publish(topic: string, message: WireMessage): Promise<void> | void
  consumer(topic: string, group: string, options: { consumer: string; ackTimeout: number }): Promise<BrokerConsumer>
  /** The stored dead letters, with the bus's replay built on `publish`. */
  readonly deadLetters: DeadLetterStore
  close(): Promise<void>
}

/** A dead letter as stored: the original serialised envelope and why it failed. */
export interface StoredDeadLetter {
  readonly id: string
  readonly body: string
  readonly group: string
  readonly error: string
  readonly attempts: number
  readonly deadAt: number
}

export interface DeadLetterStore {
  topics(): Promise<Array<{ topic: string; count: number }>>
  list(topic: string, limit: number): Promise<StoredDeadLetter[]>
  get(topic: string, id: string): Promise<StoredDeadLetter | undefined>
  remove(topic: string, ids: readonly string[]): Promise<number>
}
