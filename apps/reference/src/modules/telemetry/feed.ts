import { describeError, type Logger } from '@plinth/core'
import type { SubscriptionEvents } from '@plinth/graphql'
import type { WsBroadcaster } from '@plinth/ws'
import { deviceTopic, type Reading } from './model.js'

const readingChannel = (device: string) => `telemetry.reading:${device}`

/**
 * Readings as they are stored: broadcast to the WebSocket subscribers of each device's topic and
 * published to the GraphQL subscriptions that follow the device, both through the app's pub/sub
 * (on the event bus, so on every instance).
 */
export class ReadingFeed {
  readonly #ws: WsBroadcaster
  readonly #graphql: SubscriptionEvents
  readonly #log: Logger

  constructor(ws: WsBroadcaster, graphql: SubscriptionEvents, log: Logger) {
    this.#ws = ws
    this.#graphql = graphql
    this.#log = log
  }

  /**
   * Publishes readings once they are committed. A broadcast that fails is logged, not thrown:
   * the readings are stored and acknowledged whether or not anyone was listening.
   */
  async publish(readings: readonly Reading[]): Promise<void> {
    const results = await Promise.allSettled(readings.flatMap((reading) => [this.#ws.broadcast(deviceTopic(reading.device), reading), this.#graphql.publish(readingChannel(reading.device), reading)]))
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length > 0) this.#log.warn({ reason: describeError(failed[0]!.reason), failed: failed.length }, `${failed.length} reading broadcast(s) to WebSocket or GraphQL subscribers failed (${describeError(failed[0]!.reason)})`)
  }

  /**
   * The readings of one device from now on (stored on any instance), until the iterator is
   * returned; resolves once it listens.
   *
   * @example
   * for await (const reading of await feed.follow('thermo-1')) console.log(reading.value)
   */
  follow(device: string): Promise<AsyncIterableIterator<Reading>> {
    return this.#graphql.follow<Reading>(readingChannel(device))
  }
}
