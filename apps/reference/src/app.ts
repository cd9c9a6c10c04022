import { resolve } from 'node:path'
import { appCache } from '@plinth/cache'
import { Sagas, eventStore } from '@plinth/cqrs'
import { announceAppends } from '@plinth/cqrs/bus'
import { createApp, externalService, metricsServer, type App, type LoggingOptions, type MissingProviders } from '@plinth/core'
import { graphqlEvents, graphqlServer } from '@plinth/graphql'
import { grpcServer } from '@plinth/grpc'
import { httpServer } from '@plinth/http'
import { jobs, jobsMigrations } from '@plinth/jobs'
import { busJobEvents } from '@plinth/jobs/bus'
import { messaging } from '@plinth/messaging'
import { appState } from '@plinth/state'
import { wsBroadcast, wsServer } from '@plinth/ws'
import { AppConfig, type Settings } from './config.js'
import { appDatabase, appDatabaseRequirement } from './database.js'
import { schemaArtifacts } from './schemas.js'
import type auth from './modules/auth/module.js'
import type cluster from './modules/cluster/module.js'
import type conversation from './modules/conversation/module.js'
import type courses from './modules/courses/module.js'
import type plugins from './modules/plugins/module.js'
import type provisioning from './modules/provisioning/module.js'
import type telemetry from './modules/telemetry/module.js'
import type telemetryEvents from './modules/telemetry-events/module.js'

/**
 * What the modules build on: the database, the broadcaster that publishes to WebSocket topics,
 * the event bus (memory, or Redis Streams / JetStream from REDIS_URL, NATS_URL, MESSAGING_URL),
 * the cache and application state (on Redis with REDIS_URL, in memory otherwise), background
 * jobs (on the database, or BullMQ with JOBS_URL) whose events travel on the bus, so a job's
 * progress reaches clients of every instance, the event store (on the database, or Redis Streams
 * with EVENTS_URL) with its projections, query cache and saga runner, its appends announced on
 * the bus so other instances' projections follow at once, and the events of GraphQL
 * subscriptions (on the bus through the pub/sub the telemetry-events module provides).
 */
const foundations = [appDatabase, wsBroadcast, messaging(), appCache(), ...appState(), jobsMigrations, busJobEvents(), jobs(), ...eventStore(), announceAppends(), Sagas, graphqlEvents] as const

/**
 * The servers, each on its port from the configuration (HTTP_PORT, WS_PORT, GRPC_PORT,
 * GRAPHQL_PORT, METRICS_PORT), started concurrently; each serves what the modules contribute.
 */
const servers = [
  httpServer({
    docs: { title: 'Plinth reference service', description: 'Telemetry (IoT) and conversation (AI companion), built on Plinth' },
    cors: (app) => ({ origin: (app.config?.value as Settings).http.corsOrigins, maxAge: 600 }),
    rateLimit: (app) => ({ max: (app.config?.value as Settings).http.rateLimit, timeWindow: 60_000 }),
  }),
  wsServer(),
  grpcServer(),
  graphqlServer(),
  metricsServer(),
] as const

/**
 * The services outside the app that `plinth validate` checks: each resolves and answers. The AI
 * provider when the conversation module uses OpenAI's API (any answer below 500 counts: the API
 * has no health endpoint, and 401 without a key still says it is up); a Consul registry given
 * as DISCOVERY_URL=http(s)://....
 */
const externalServices = [
  externalService({
    name: 'AI provider',
    url: ({ config }) => ((config as Settings).conversation.provider === 'openai' ? `${(config as Settings).conversation.openai.baseUrl.replace(/\/$/, '')}/` : undefined),
    health: 'models',
    healthy: (status) => status < 500,
    required: false,
  }),
  externalService({
    name: 'service registry',
    url: ({ config }) => ((config as Settings).cluster.url?.match(/^https?:\/\//) ? (config as Settings).cluster.url : undefined),
    health: '/v1/status/leader',
    required: false,
  }),
]

/** Standard output, or the rotating file that LOG_FILE names (in the data directory when relative). */
function logging(config: Settings): LoggingOptions {
  const { file, maxSize, keep } = config.log
  return file === undefined ? {} : { file: { path: resolve(config.dataDir, file), maxSize, keep, frequency: 'daily' } }
}

type Modules = [typeof telemetry, typeof conversation, typeof auth, typeof cluster, typeof plugins, typeof courses, typeof telemetryEvents, typeof provisioning]

/**
 * Modules are discovered at run time from ./modules (src/ under a test runner, dist/ in
 * production), so createApp cannot check their dependencies at compile time as it does for
 * listed modules. This declaration does: it fails to compile, naming the token, when a module
 * depends on something the foundations do not provide. Type imports only: no module is loaded here.
 */
type Missing = MissingProviders<typeof foundations, Modules, typeof AppConfig>
export const modulesChecked: [Missing] extends [never] ? true : `nothing provides ${Missing}` = true

/**
 * Assembles the reference service. Nothing runs until it is started: `main.ts` (or the `plinth`
 * command) serves `app`; tests start their own, with every port at 0.
 *
 * @example
 * const service = createReferenceApp({ logging: { level: 'silent' } })
 * await service.start({ env: { HTTP_PORT: '0', WS_PORT: '0', GRPC_PORT: '0', GRAPHQL_PORT: '0', METRICS_PORT: '0' } })
 */
export function createReferenceApp(options: { logging?: LoggingOptions } = {}): App {
  return createApp({
    name: 'reference',
    version: '0.1.0',
    config: AppConfig,
    components: [...foundations, ...servers, ...externalServices],
    discoverModules: new URL('./modules/', import.meta.url),
    bootstrap: { dataDir: (config: Settings) => config.dataDir, requirements: { databases: [appDatabaseRequirement], artifacts: schemaArtifacts() } },
    logging: options.logging ?? logging,
  })
}

/** The reference service, as `npm start` and `plinth` run it. */
export const app = createReferenceApp()
