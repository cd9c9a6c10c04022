/**
 * Events for GraphQL subscriptions, across instances: resolvers publish to a channel and follow
 * one, through a pub/sub that the app may put on its event bus (provide `GraphQLPubSub`, e.g.
 * @plinth/messaging's `BusPubSub`), so that a subscriber on instance B hears what instance A
 * published. Without a provider the events stay in the process.
 */
import { EventEmitter } from 'node:events'
import { optional, provide, token } from '@plinth/core'

/**
 * A publish/subscribe backend carrying serialised payloads per channel: the shape of @plinth/ws's
 * `PubSub` and @plinth/messaging's `BusPubSub`, restated so that GraphQL depends on neither.
 */
export interface SubscriptionPubSub {
  publish(channel: string, payload: string): Promise<void>
  subscribe(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>>
}

/**
 * The pub/sub GraphQL subscription events ride on. Without a provider they stay in the process.
 *
 * @example
 * provide(GraphQLPubSub, { deps: { bus: MessageBus }, create: ({ bus }) => new BusPubSub(bus), stop: (p) => (p as BusPubSub).close() })
 */
export const GraphQLPubSub = token('graphql-pubsub').of<SubscriptionPubSub>()

// Channels of their own, so that one pub/sub can also carry the WebSocket server's topics.
const channelPrefix = 'graphql:'

/** An in-process pub/sub, the default. Delivery is a microtask after publish, as a network backend's is asynchronous. */
class LocalPubSub implements SubscriptionPubSub {
  readonly #emitter = new EventEmitter().setMaxListeners(0)

  publish(channel: string, payload: string): Promise<void> {
    queueMicrotask(() => this.#emitter.emit(channel, payload))
    return Promise.resolve()
  }

  subscribe(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>> {
    // A wrapper, so that one function subscribed twice is two subscriptions.
    const entry = (payload: string) => listener(payload)
    this.#emitter.on(channel, entry)
    return Promise.resolve(() => Promise.resolve(void this.#emitter.off(channel, entry)))
  }
}

/**
 * Publishes values to channels and follows channels, for subscription resolvers. Values travel
 * as JSON.
 *
 * @example
 * // Where readings are stored:
 * await events.publish(`readings:${reading.device}`, reading)
 * // In a resolver: Subscription: { readingAdded: { subscribe: (_root, { device }) => events.follow(`readings:${device}`) } }
 */
export class SubscriptionEvents {
  readonly #pubsub: SubscriptionPubSub

  constructor(pubsub: SubscriptionPubSub = new LocalPubSub()) {
    this.#pubsub = pubsub
  }

  /** Sends `value` to every follower of `channel`, on every instance the pub/sub reaches. */
  publish(channel: string, value: unknown): Promise<void> {
    return this.#pubsub.publish(channelPrefix + channel, JSON.stringify(value))
  }

  /**
   * The values published to `channel` from the moment this resolves, until the iterator is
   * returned (GraphQL returns it when the subscription ends). Resolves once the pub/sub listens,
   * so a value published after it cannot be missed.
   */
  async follow<T = unknown>(channel: string): Promise<AsyncIterableIterator<T>> {
    const queued: T[] = []
    let waiting: ((result: IteratorResult<T, undefined>) => void) | undefined
    let done = false
    const unsubscribe = await this.#pubsub.subscribe(channelPrefix + channel, (payload) => {
      const value = JSON.parse(payload) as T
      if (waiting === undefined) queued.push(value)
      else {
        const wake = waiting
        waiting = undefined
        wake({ done: false, value })
      }
    })
    const end = async (): Promise<IteratorReturnResult<undefined>> => {
      if (!done) {
        done = true
        waiting?.({ done: true, value: undefined })
        waiting = undefined
        await unsubscribe()
      }
      return { done: true, value: undefined }
    }
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        if (queued.length > 0) return Promise.resolve({ done: false, value: queued.shift()! })
        if (done) return Promise.resolve({ done: true, value: undefined })
        return new Promise((resolve) => (waiting = resolve))
      },
      return: end,
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }
}

/**
 * Subscription events for resolvers: `deps: { events: GraphQLEvents }`.
 *
 * @example
 * component('readings', { deps: { events: GraphQLEvents }, create: ({ events }) => ({ added: (r: Reading) => events.publish(`readings:${r.device}`, r) }) })
 */
export const GraphQLEvents = token('graphql-events').of<SubscriptionEvents>()

/**
 * The provider of GraphQLEvents: on `GraphQLPubSub` when the app provides one, in the process otherwise.
 *
 * @example
 * export const app = createApp({ name: 'plant', components: [graphqlServer(), graphqlEvents, provide(GraphQLPubSub, { ... })] })
 */
export const graphqlEvents = provide(GraphQLEvents, {
  deps: { pubsub: optional(GraphQLPubSub) },
  // One per app: its publishers and followers share it, and with it the in-process default.
  create: ({ pubsub }) => new SubscriptionEvents(pubsub),
})
