import { defineModule } from '@plinth/core'
import { findingsWorker, graphqlOverBus, wsOverBus } from './components.js'
import { telemetryEventRoutes } from './rest.js'

/**
 * Telemetry over the event bus (@plinth/messaging): readings published as events are stored and
 * diagnosed by a subscribed handler (instances of the service share the work), readings that
 * cannot be handled go to the dead-letter queue (REST and `plinth dlq`), and WebSocket
 * broadcasts and GraphQL subscription events cross instances through the bus. The bus is Redis Streams with REDIS_URL, NATS
 * JetStream with NATS_URL, in memory otherwise.
 */
export default defineModule({
  id: 'telemetry-events',
  version: '1.0.0',
  components: [findingsWorker, wsOverBus, graphqlOverBus, telemetryEventRoutes],
})
