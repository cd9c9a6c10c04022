/**
 * WebSocket (and GraphQL subscription) fan-out on the bus: an implementation of @plinth/ws's
 * `PubSub` interface, so that a client connected to instance A receives what was broadcast on
 * instance B. Every instance reads one topic in a group of its own, so each gets every message.
 */
import type { Bus } from './bus.js'
import { instanceGroup } from './broadcast.js'
import { connectForCheck } from './check-connection.js'
import type { Subscription } from './contract.js'
import { topic } from './topic.js'

/** The shape of @plinth/ws's PubSub, restated so that messaging does not depend on the WebSocket package. */
export interface ChannelPubSub {
  publish(channel: string, payload: string): Promise<void>
  subscribe(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>>
}

const channelHeader = 'x-channel'

/**
 * A pub/sub over the bus: provide it as the WebSocket server's `WsPubSub`. Messages published
 * before an instance first subscribes are not delivered to it (a broadcast is for whoever
 * listens now). Close it at stop: its group, one per instance, is then removed from the broker.
 *
 * @example
 * provide(WsPubSub, { deps: { bus: MessageBus }, create: ({ bus }) => new BusPubSub(bus), stop: (pubsub) => pubsub.close() })
 */
export class BusPubSub implements ChannelPubSub {
  readonly #bus: Bus
  readonly #topic
  readonly #group: string
  readonly #channels = new Map<string, Set<(payload: string) => void>>()
  #subscription: Promise<Subscription> | undefined

  constructor(bus: Bus, options: { topic?: string } = {}) {
    this.#bus = bus
    this.#topic = topic(options.topic ?? 'plinth.pubsub').of<string>()
    // A group per instance: every instance receives every broadcast.
    this.#group = instanceGroup(bus, 'pubsub')
  }

  async publish(channel: string, payload: string): Promise<void> {
    await this.#bus.publish(this.#topic, payload, { headers: { [channelHeader]: channel } })
  }

  async subscribe(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>> {
    this.#subscription ??= this.#bus
      .subscribe(this.#topic, (message) => this.#deliver(message.headers[channelHeader], message.payload), { group: this.#group, concurrency: 64, maxAttempts: 1 })
      .catch((error: unknown) => {
        this.#subscription = undefined
        throw error
      })
    await this.#subscription
    let listeners = this.#channels.get(channel)
    if (listeners === undefined) this.#channels.set(channel, (listeners = new Set()))
    // A wrapper, so that the same function subscribed twice is two subscriptions.
    const entry = (payload: string) => listener(payload)
    listeners.add(entry)
    return () => {
      listeners.delete(entry)
      if (listeners.size === 0 && this.#channels.get(channel) === listeners) this.#channels.delete(channel)
      return Promise.resolve()
    }
  }

  #deliver(channel: string | undefined, payload: string): void {
    if (channel === undefined) return
    const listeners = this.#channels.get(channel)
    if (listeners === undefined) return
    for (const listener of [...listeners]) {
      try {
        listener(payload)
      } catch (error) {
        process.emitWarning(`a pub/sub listener on "${channel}" threw: ${String(error)}`, 'PlinthWarning')
      }
    }
  }

  /**
   * For `plinth validate`, where no component is started: connects the bus (once per run) so a
   * probe can travel, and returns what stops listening and disconnects it again.
   */
  async connectForCheck(signal: AbortSignal): Promise<() => Promise<void>> {
    signal.throwIfAborted()
    await connectForCheck(this.#bus)
    return async () => {
      await this.close()
      await this.#bus.stop()
    }
  }

  /** Stops listening and removes this instance's group from the broker. */
  async close(signal?: AbortSignal): Promise<void> {
    const subscription = this.#subscription
    this.#subscription = undefined
    this.#channels.clear()
    if (subscription !== undefined) await (await subscription).close(signal, { forget: true })
  }
}
