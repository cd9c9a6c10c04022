import { EventEmitter, on } from 'node:events'
import type { Logger } from '@plinth/core'
import type { WsBroadcaster } from '@plinth/ws'
import { deviceTopic, type Reading } from './model.js'

/**
 * Readings as they are stored: broadcast to the WebSocket subscribers of each device's topic
 * (through the WebSocket pub/sub, so on every instance), and followed by this instance's
 * GraphQL subscriptions.
 */
export class ReadingFeed {
  readonly #ws: WsBroadcaster
  readonly #log: Logger
  readonly #local = new EventEmitter().setMaxListeners(0)

  constructor(ws: WsBroadcaster, log: Logger) {
    this.#ws = ws
    this.#log = log
  }

  /**
   * Publishes readings once they are committed. A broadcast that fails is logged, not thrown:
   * the readings are stored and acknowledged whether or not anyone was listening.
   */
  async publish(readings: readonly Reading[]): Promise<void> {
    for (const reading of readings) this.#local.emit(reading.device, reading)
    const results = await Promise.allSettled(readings.map((reading) => this.#ws.broadcast(deviceTopic(reading.device), reading)))
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length > 0) this.#log.warn({ err: failed[0]!.reason, failed: failed.length }, `${failed.length} reading(s) could not be broadcast to WebSocket subscribers`)
  }

  /**
   * The readings of one device from now on, until the iterator is returned. Not an async
   * generator: a generator waiting for the next reading could only be returned once that reading
   * came, while this one stops listening at once when GraphQL ends the subscription.
   *
   * @example
   * for await (const reading of feed.follow('thermo-1')) console.log(reading.value)
   */
  follow(device: string): AsyncIterableIterator<Reading> {
    const events = on(this.#local, device) as AsyncIterableIterator<[Reading]>
    const iterator: AsyncIterableIterator<Reading> = {
      next: async () => {
        const event = await events.next()
        return event.done === true ? { done: true, value: undefined } : { done: false, value: event.value[0] }
      },
      return: async () => {
        await events.return?.()
        return { done: true, value: undefined }
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }
}
