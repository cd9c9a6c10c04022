import { defineModule } from '@plinth/core'
import { readingFeed, silenceWatch, telemetry, telemetryStore } from './components.js'
import { defaultRules, defaultRulesPath, defaultRulesTemplate } from './default-rules.js'
import { devicesGraphql, devicesGrpc, devicesGrpcImplementation, devicesWs } from './devices-guarded.js'
import { telemetryGraphql } from './graphql.js'
import { telemetryGrpc, telemetryGrpcImplementation } from './grpc.js'
import { telemetryMigrations } from './migrations.js'
import { telemetryRoutes } from './rest.js'

/**
 * Telemetry (design document 004): devices and their readings, over REST (single and batch),
 * a gRPC client stream, WebSocket topics (`telemetry:<device>`, live) and GraphQL (queries and
 * a subscription); threshold and silence diagnostics. The app discovers this folder; nothing
 * lists the module by hand.
 */
export default defineModule({
  id: 'telemetry',
  version: '1.0.0',
  // The service is this module: if it cannot load, start-up stops instead of running without it.
  required: true,
  components: [
    telemetryMigrations,
    telemetryStore,
    readingFeed,
    defaultRules,
    telemetry,
    silenceWatch,
    telemetryRoutes,
    telemetryGrpcImplementation,
    telemetryGrpc,
    telemetryGraphql,
    // Device registration over gRPC, GraphQL and WebSocket, guarded like the REST route.
    devicesGrpcImplementation,
    devicesGrpc,
    devicesGraphql,
    devicesWs,
  ],
  bootstrap: {
    // Written once, before the module loads; an operator's edits are never overwritten.
    files: [{ path: defaultRulesPath, content: defaultRulesTemplate }],
  },
})
