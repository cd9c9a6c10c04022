import { AppCache } from '@plinth/cache'
import { Logger, Metrics, component } from '@plinth/core'
import { Database } from '@plinth/db'
import { GraphQLEvents } from '@plinth/graphql'
import { WsBroadcast } from '@plinth/ws'
import { AppConfig } from '../../config.js'
import { defaultRules } from './default-rules.js'
import { SilenceWatch } from './diagnostics.js'
import { ReadingFeed } from './feed.js'
import { Telemetry } from './service.js'
import { TelemetryStore, type TelemetryTables } from './store.js'

/** The module's queries, on the app's database (typed with the module's tables). */
export const telemetryStore = component('telemetry-store', {
  deps: { db: Database },
  create: ({ db }) => new TelemetryStore(db.typed<TelemetryTables>()),
})

/** New readings, live: WebSocket topics and GraphQL subscriptions. */
export const readingFeed = component('telemetry-feed', {
  deps: { ws: WsBroadcast, graphql: GraphQLEvents, log: Logger },
  create: ({ ws, graphql, log }) => new ReadingFeed(ws, graphql, log),
})

/** The telemetry service every protocol calls. */
export const telemetry = component('telemetry', {
  deps: { store: telemetryStore, feed: readingFeed, defaults: defaultRules, metrics: Metrics, config: AppConfig, cache: AppCache },
  create: ({ store, feed, defaults, metrics, config, cache }) =>
    new Telemetry(store, feed, defaults, metrics, {
      maxBatch: config.telemetry.maxBatch,
      retryAfter: config.database.retryAfter,
      devices: cache.namespace('telemetry-devices', { ttl: 60_000, negativeTtl: 5_000 }),
    }),
})

/** Evaluates the silence rules on an interval, from start to shutdown. */
export const silenceWatch = component('telemetry-silence-watch', {
  eager: true,
  deps: { telemetry, config: AppConfig, log: Logger },
  create: ({ telemetry, config, log }) => new SilenceWatch(() => telemetry.detectSilence(), config.telemetry.silenceCheckInterval, log),
  start: (watch) => watch.start(),
  stop: (watch) => watch.stop(),
})
