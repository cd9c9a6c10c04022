/**
 * The in-process broker: the default backend and the reference for the contract. Bounded: a
 * group whose queue is full makes `publish` wait (back-pressure) instead of growing without
 * limit. Share one `MemoryBroker` between several buses to have them behave as instances of one
 * service (tests do).
 */
import type { Broker, BrokerConsumer, DeadLetterStore, Delivery, StoredDeadLetter, WireMessage } from './contract.js'
import { copyEnvelope } from './envelope.js'

let deadSequence = 0

/**
 * A message as one group holds it, and its delivery to that group's consumers: one object per
 * message and group, with its methods on the prototype, because a closure per delivery was a
 * good share of the in-memory bus's garbage.
 */
class Entry implements Delivery {
  attempt = 1
  /** Settled (acknowledged or dead-lettered): a late ack or timer does nothing more. */
  done = false
  /** The envelope: a copy, or the published one itself when the broker does not copy (serialised when it came as text only). */
  readonly raw: string | object
  readonly group: Group

  constructor(raw: string | object, group: Group) {
    this.raw = raw
    this.group = group
  }

  get body(): string {
    return typeof this.raw === 'string' ? this.raw : JSON.stringify(this.raw)
  }

  get envelope(): object | undefined {
    return typeof this.raw === 'string' ? undefined : this.raw
  }

  ack(): void {
    if (!this.done) this.group.release(this)
  }

  retry(delay: number): Promise<void> {
    if (this.done || !this.group.pending.delete(this)) return settled
    setTimeout(() => {
      if (this.done) return
      this.attempt++
      this.group.push(this)
    }, delay).unref()
    return settled
  }

  deadLetter(reason: string, attempts: number): Promise<void> {
    if (this.done) return settled
    this.group.topic.dead.push({ id: `${Date.now()}-${deadSequence++}`, body: this.body, group: this.group.name, error: reason, attempts, deadAt: Date.now() })
    this.group.release(this)
    return settled
  }
}

const settled = Promise.resolve()

export interface MemoryBrokerOptions {
  /** Messages a group may hold (waiting, in flight or waiting to be retried) before publish waits. Default 10 000. */
  capacity?: number
  /**
   * Hand each group a copy of the payload as JSON would carry it (default true), so that a
   * handler gets its own object and a payload JSON cannot carry fails here as it would on Redis
   * or NATS. False hands the published object over as it is: somewhat faster, for in-process
   * hot paths whose messages are never mutated and are plain JSON.
   */
  copy?: boolean
}

class Group {
  readonly name: string
  readonly topic: TopicState
  readonly ready: Entry[] = []
  head = 0
  /** In flight, oldest delivery first, with the time it is taken over. */
  readonly pending = new Map<Entry, number>()
  held = 0
  readonly waiters: Array<() => void> = []
  sweeper: NodeJS.Timeout | undefined

  constructor(name: string, topic: TopicState) {
    this.name = name
    this.topic = topic
  }

  get waiting(): number {
    return this.ready.length - this.head
  }

  take(): Entry | undefined {
    if (this.head === this.ready.length) return undefined
    const entry = this.ready[this.head]!
    this.ready[this.head++] = undefined as unknown as Entry
    // Compact now and then rather than shift() each time, which is O(n).
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready.splice(0, this.head)
      this.head = 0
    }
    return entry
  }

  push(entry: Entry): void {
    this.ready.push(entry)
    if (this.waiters.length > 0) this.waiters.shift()!()
  }

  release(entry: Entry): void {
    entry.done = true
    this.pending.delete(entry)
    this.held--
    // One slot freed, one waiting publish woken (waking them all would cost each release the whole queue).
    if (this.topic.spaceWaiters.length > 0) this.topic.spaceWaiters.shift()!()
  }
}

class TopicState {
  readonly groups = new Map<string, Group>()
  /** The groups again, as an array: publish walks it for every message. */
  list: Group[] = []
  readonly dead: StoredDeadLetter[] = []
  readonly spaceWaiters: Array<() => void> = []
}

/**
 * The in-memory broker.
 *
 * @example
 * const broker = new MemoryBroker({ capacity: 1_000 })
 * const a = new Bus({ broker }), b = new Bus({ broker }) // two "instances" of one service
 */
export class MemoryBroker implements Broker {
  readonly kind = 'memory'
  readonly url = 'memory://'
  readonly #topics = new Map<string, TopicState>()
  readonly #capacity: number
  readonly #copy: boolean

  constructor(options: MemoryBrokerOptions = {}) {
    this.#capacity = options.capacity ?? 10_000
    this.#copy = options.copy ?? true
  }

  connect(): Promise<void> {
    return Promise.resolve()
  }

  ping(): Promise<number> {
    return Promise.resolve(0)
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  #topic(name: string): TopicState {
    let state = this.#topics.get(name)
    if (state === undefined) this.#topics.set(name, (state = new TopicState()))
    return state
  }

  publish(topic: string, message: WireMessage): Promise<void> | void {
    const state = this.#topic(topic)
    // Behind publishes already waiting for room, so that one producer's messages keep their order.
    if (state.spaceWaiters.length > 0 || this.#full(state)) return this.#publishWhenRoom(state, message)
    this.#append(state, message)
  }

  #full(state: TopicState): boolean {
    for (const group of state.list) if (group.held >= this.#capacity) return true
    return false
  }

  async #publishWhenRoom(state: TopicState, message: WireMessage): Promise<void> {
    await new Promise<void>((resolve) => state.spaceWaiters.push(resolve))
    while (this.#full(state)) await new Promise<void>((resolve) => state.spaceWaiters.unshift(resolve))
    this.#append(state, message)
    // Room for more: the next waiting publish checks for itself.
    if (!this.#full(state)) state.spaceWaiters.shift()?.()
  }

  #append(state: TopicState, message: WireMessage): void {
    const envelope = message.envelope
    for (const group of state.list) {
      group.held++
      // A copy per group: handlers of two groups must not share an object either.
      group.push(new Entry(envelope === undefined ? message.body : this.#copy ? copyEnvelope(envelope) : envelope, group))
    }
  }

  consumer(topic: string, groupName: string, options: { consumer: string; ackTimeout: number }): Promise<BrokerConsumer> {
    const state = this.#topic(topic)
    let group = state.groups.get(groupName)
    if (group === undefined) {
      state.groups.set(groupName, (group = new Group(groupName, state)))
      state.list = [...state.groups.values()]
    }
    return Promise.resolve(this.#consumerOf(state, groupName, group, options.ackTimeout))
  }

  #consumerOf(state: TopicState, groupName: string, group: Group, ackTimeout: number): BrokerConsumer {
    const sweep = () => {
      group.sweeper = undefined
      const now = Date.now()
      // Pending is in delivery order: stop at the first that is not overdue.
      for (const [entry, deadline] of group.pending) {
        if (deadline > now) break
        group.pending.delete(entry)
        entry.attempt++
        group.push(entry)
      }
      schedule()
    }
    const schedule = () => {
      if (group.sweeper !== undefined || group.pending.size === 0) return
      const first = group.pending.values().next().value!
      group.sweeper = setTimeout(sweep, Math.max(1, first - Date.now())).unref()
    }
    const takeBatch = (max: number): Delivery[] => {
      const batch: Delivery[] = []
      const deadline = Date.now() + ackTimeout
      while (batch.length < max) {
        const entry = group.take()
        if (entry === undefined) break
        if (entry.done) continue
        group.pending.set(entry, deadline)
        batch.push(entry)
      }
      if (batch.length > 0) schedule()
      return batch
    }
    let waiter: (() => void) | undefined
    return {
      fetch: async (max, signal) => {
        for (;;) {
          const batch = takeBatch(max)
          if (batch.length > 0 || signal.aborted) return batch
          await new Promise<void>((resolve) => {
            const wake = () => {
              signal.removeEventListener('abort', onAbort)
              waiter = undefined
              resolve()
            }
            const onAbort = () => {
              const at = group.waiters.indexOf(wake)
              if (at !== -1) group.waiters.splice(at, 1)
              waiter = undefined
              resolve()
            }
            waiter = wake
            group.waiters.push(wake)
            signal.addEventListener('abort', onAbort, { once: true })
          })
        }
      },
      poll: takeBatch,
      lag: () => Promise.resolve(group.waiting),
      close: (options) => {
        if (waiter !== undefined) {
          const at = group.waiters.indexOf(waiter)
          if (at !== -1) group.waiters.splice(at, 1)
        }
        if (options?.forget === true && state.groups.get(groupName) === group) {
          state.groups.delete(groupName)
          state.list = [...state.groups.values()]
          if (state.spaceWaiters.length > 0) for (const wake of state.spaceWaiters.splice(0)) wake()
        }
        return Promise.resolve()
      },
    }
  }

  readonly deadLetters: DeadLetterStore = {
    topics: () =>
      Promise.resolve(
        [...this.#topics]
          .filter(([, state]) => state.dead.length > 0)
          .map(([topic, state]) => ({ topic, count: state.dead.length }))
          .sort((a, b) => a.topic.localeCompare(b.topic)),
      ),
    list: (topic, limit) => Promise.resolve(this.#topics.get(topic)?.dead.slice(0, limit) ?? []),
    get: (topic, id) => Promise.resolve(this.#topics.get(topic)?.dead.find((letter) => letter.id === id)),
    remove: (topic, ids) => {
      const dead = this.#topics.get(topic)?.dead
      if (dead === undefined) return Promise.resolve(0)
      const doomed = new Set(ids)
      const before = dead.length
      const kept = dead.filter((letter) => !doomed.has(letter.id))
      dead.splice(0, dead.length, ...kept)
      return Promise.resolve(before - kept.length)
    },
  }
}
