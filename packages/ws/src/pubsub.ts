import { token } from '@plinth/core'

/**
 * A publish/subscribe backend that carries topic broadcasts between instances. Every instance
 * subscribes to the channels its clients listen on, and a broadcast is published once and
 * delivered by each instance to its own clients, so several instances behave as one server.
 * Payloads are strings (the serialised message), so a backend forwards them without parsing.
 *
 * `MemoryPubSub` serves one process; a Redis or NATS implementation of this interface spans
 * several.
 */
export interface PubSub {
  /** Delivers `payload` to every listener of `channel`, on every instance. */
  publish(channel: string, payload: string): Promise<void>
  /** Listens on a channel until the returned function is called. */
  subscribe(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>>
  /**
   * For `plinth validate`, where no component is started: connects what the backend rides on
   * (a bus its own component starts in a running app) and returns what closes it again. A
   * backend usable as soon as it is built leaves it out.
   */
  connectForCheck?(signal: AbortSignal): Promise<() => Promise<void>>
}

/**
 * The pub/sub backend of the WebSocket server. Without a provider the server uses a
 * `MemoryPubSub` of its own, which reaches only this process's clients.
 *
 * @example
 * export const sharedBus = provide(WsPubSub, { create: () => new RedisPubSub(process.env.REDIS_URL) })
 */
export const WsPubSub = token('ws-pubsub').of<PubSub>()

/**
 * An in-process pub/sub. Delivery is asynchronous (a microtask after publish), in publish
 * order, as a network backend's would be, so code tested against it does not come to rely on
 * synchronous delivery. Share one instance between several servers to test fan-out.
 *
 * @example
 * const bus = new MemoryPubSub()
 * const off = await bus.subscribe('news', (payload) => console.log(payload))
 * await bus.publish('news', '{"hello":"world"}')
 * await off()
 */
export class MemoryPubSub implements PubSub {
  readonly #channels = new Map<string, Set<(payload: string) => void>>()

  publish(channel: string, payload: string): Promise<void> {
    const listeners = this.#channels.get(channel)
    if (listeners === undefined || listeners.size === 0) return Promise.resolve()
    const targets = [...listeners]
    queueMicrotask(() => {
      for (const listener of targets) {
        try {
          listener(payload)
        } catch (error) {
          process.emitWarning(`a pub/sub listener on "${channel}" threw: ${String(error)}`, 'PlinthWarning')
        }
      }
    })
    return Promise.resolve()
  }

  subscribe(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>> {
    let listeners = this.#channels.get(channel)
    if (listeners === undefined) this.#channels.set(channel, (listeners = new Set()))
    // A wrapper, so that the same function subscribed twice is two subscriptions.
    const entry = (payload: string) => listener(payload)
    listeners.add(entry)
    return Promise.resolve(() => {
      listeners.delete(entry)
      if (listeners.size === 0 && this.#channels.get(channel) === listeners) this.#channels.delete(channel)
      return Promise.resolve()
    })
  }

  /** How many listeners a channel has (for tests and diagnostics). */
  listeners(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0
  }
}
