import { Logger, component, provide } from '@plinth/core'
import { BusPubSub, MessageBus, topic, type Subscription } from '@plinth/messaging'
import { GraphQLPubSub } from '@plinth/graphql'
import { WsPubSub } from '@plinth/ws'
import { telemetry } from '../telemetry/components.js'
import { ReadingInput } from '../telemetry/model.js'

/**
 * Readings as events: the topic a gateway (or the REST endpoint of this module) publishes to.
 * Its schema is the telemetry module's own, so a malformed event is refused on publish and
 * dead-lettered, with the field, on receive.
 */
export const ReadingEvent = topic('telemetry.reading').of(ReadingInput)

/** The consumer group whose handler stores readings and raises their findings. */
export const findingsGroup = 'telemetry-findings'

/**
 * Stores each reading event and computes its findings (the telemetry service's ingest, which
 * evaluates the device's threshold rules). Instances share the group's events; a reading that
 * cannot be stored (its device is not registered) is retried, then dead-lettered, where an
 * operator sees it (`plinth dlq list telemetry.reading`, GET /api/v1/telemetry/dead-letters) and
 * replays it once the device is registered.
 */
export const findingsWorker = component('telemetry-findings-worker', {
  eager: true,
  deps: { bus: MessageBus, telemetry, log: Logger },
  create: ({ bus, telemetry, log }) => ({ bus, telemetry, log, subscription: undefined as Subscription | undefined }),
  start: async (worker) => {
    worker.subscription = await worker.bus.subscribe(
      ReadingEvent,
      async (event) => {
        // Readings are unique by device, metric and time: a redelivered event is a duplicate, not a second reading.
        await worker.telemetry.ingest(event.payload, 'bus')
      },
      { group: findingsGroup, concurrency: 8, maxAttempts: 3, backoff: { initialDelay: 50, maxDelay: 1_000 }, ackTimeout: 30_000 },
    )
  },
  stop: (worker, { signal }) => worker.subscription?.close(signal),
})

/**
 * WebSocket fan-out across instances: the WebSocket server's pub/sub on the bus, so a client of
 * instance A receives what instance B broadcast (on Redis or NATS; in memory, this process only).
 */
export const wsOverBus = provide(WsPubSub, {
  deps: { bus: MessageBus },
  create: ({ bus }) => new BusPubSub(bus, { topic: 'reference.ws' }),
  stop: (pubsub, { signal }) => (pubsub as BusPubSub).close(signal),
})

/**
 * GraphQL subscriptions across instances: their events ride the same pub/sub on the bus (on
 * channels of their own), so a GraphQL subscriber of instance B hears a reading stored on A.
 */
export const graphqlOverBus = provide(GraphQLPubSub, {
  deps: { pubsub: WsPubSub },
  create: ({ pubsub }) => pubsub,
})
