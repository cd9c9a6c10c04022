/**
 * The event store as a component: `eventStore()` gives the store (on the app's database, or on
 * Redis Streams when EVENTS_URL is a redis:// URL), its migrations, and the runner that keeps
 * every declared projection following the store while the app runs.
 */
import { Application, component, isPlinthError, optional, provide, type HealthResult } from '@plinth/core'
import { Database, defineMigrations } from '@plinth/db'
import { EventStore, Projections, type EventStore as Store } from './tokens.js'
import { QueryCacheComponent } from './query-cache.js'
import { cqrsErrors } from './errors.js'
import type { ProjectionDefinition } from './projection.js'
import { runProjection } from './projection.js'
import { RedisEventStore } from './redis-store.js'
import { eventStoreMigrations } from './schema.js'
import { SqlEventStore } from './sql-store.js'
import { subscribe, type Subscription } from './subscription.js'

export interface EventStoreComponentOptions {
  /** `redis://...` for the Redis Streams store. Default: EVENTS_URL, else the app's database. */
  readonly url?: string
  /** Redis key prefix. Default `plinth:{events}:`. */
  readonly prefix?: string
}

const optionalDatabases = new WeakSet<Store>()

/**
 * On an optional database (SKIP_DB_INIT) that cannot be reached, the app runs without its events
 * for a while: degraded, not down, as the database's own check says. Other errors are thrown.
 *
 * @example
 * health: async (runner) => runner.counts().then((counts) => ({ status: 'up', details: counts }), (error) => whileOptionalDown(db.optional, error))
 */
export function whileOptionalDown(optionalDatabase: boolean, error: unknown): HealthResult {
  if (!(optionalDatabase && (isPlinthError(error, 'PLINTH_ERR_DB_UNAVAILABLE') || isPlinthError(error, 'PLINTH_ERR_DB_CONNECT_FAILED')))) throw error
  return { status: 'degraded', details: { reason: `the database is unavailable: ${error.message}` } }
}

/** The migrations of the store's tables, for the app's database. */
export const eventStoreSchema = defineMigrations('plinth-events', eventStoreMigrations)

function storeFor(options: EventStoreComponentOptions, env: NodeJS.ProcessEnv, db: Database | undefined): Store {
  const url = options.url ?? env.EVENTS_URL
  if (url !== undefined && url !== '') {
    if (!/^rediss?:\/\//.test(url)) throw cqrsErrors.create('PLINTH_ERR_EVENTS_SETUP', `EVENTS_URL must be a redis:// or rediss:// URL for the Redis Streams store, or unset for the app's database; got a ${url.split(':')[0]}: URL`)
    return new RedisEventStore({ connection: url, ...(options.prefix ? { prefix: options.prefix } : {}) })
  }
  if (db === undefined) throw cqrsErrors.create('PLINTH_ERR_EVENTS_SETUP', 'the event store needs a database: add database() from @plinth/db to the app, or set EVENTS_URL=redis://... for the Redis Streams store')
  return new SqlEventStore(db.kysely, { dialect: db.dialect })
}

/** Runs one projection: transactional on the SQL store, at least once through the database otherwise. */
function follow(store: Store, definition: ProjectionDefinition, db: Database | undefined): Subscription {
  if (store instanceof SqlEventStore) return runProjection(store, definition)
  if (db === undefined) throw cqrsErrors.create('PLINTH_ERR_EVENTS_SETUP', `projection "${definition.name}" writes to a database, and the app has none; add database() from @plinth/db`)
  return subscribe(store, { name: `projection:${definition.name}`, ...(definition.types ? { types: definition.types } : {}), handle: (event) => definition.handle(event, db.kysely) })
}

/**
 * The projections the app runs, as running subscriptions: the query bus waits on them for read-your-writes.
 *
 * @example
 * await projections.caughtUp('device-names', written.position, 2_000)
 */
export class RunningProjections {
  readonly #byName: ReadonlyMap<string, Subscription>
  constructor(subscriptions: readonly Subscription[]) {
    this.#byName = new Map(subscriptions.map((subscription) => [subscription.name.replace(/^projection:/, ''), subscription]))
  }

  get all(): Subscription[] {
    return [...this.#byName.values()]
  }

  /** The position a projection has handled up to, or undefined for an unknown name. */
  position(name: string): number | undefined {
    return this.#byName.get(name)?.status().position
  }

  /** Resolves once the projection has handled every event up to `position`. */
  caughtUp(name: string, position: number, timeout?: number): Promise<void> {
    const subscription = this.#byName.get(name)
    if (subscription === undefined) return Promise.reject(cqrsErrors.create('PLINTH_ERR_EVENTS_UNKNOWN_PROJECTION', `no projection named ${JSON.stringify(name)} runs in this app; declared: ${[...this.#byName.keys()].join(', ') || 'none'}`))
    return subscription.caughtUp(position, timeout)
  }
}

/**
 * Runs every projection contributed to `Projections` while the app runs; `eventStore()` includes it.
 *
 * @example
 * component('reports', { deps: { projections: ProjectionRunner }, create: ({ projections }) => ... })
 */
export const ProjectionRunner = component('event-projections', {
  eager: true,
  deps: { store: EventStore, definitions: Projections, db: optional(Database) },
  create: ({ store, definitions, db }) => new RunningProjections(definitions.map((definition) => follow(store, definition, db))),
  start: (running) => {
    for (const subscription of running.all) subscription.start()
  },
  stop: async (running) => {
    await Promise.all(running.all.map((subscription) => subscription.stop()))
  },
  health: (running): HealthResult => {
    const statuses = running.all.map((subscription) => subscription.status())
    const failing = statuses.filter((status) => status.failing !== undefined)
    return { status: failing.length > 0 ? 'degraded' : 'up', details: { projections: statuses } }
  },
})

/**
 * The event store, its schema, the projection runner and the query cache; spread it into the app's components.
 *
 * @example
 * export const app = createApp({
 *   name: 'devices',
 *   components: [database(), ...eventStore(), provide(Projections, { value: deviceList })],
 * })
 */
export function eventStore(options: EventStoreComponentOptions = {}) {
  const store = provide(EventStore, {
    deps: { app: Application, db: optional(Database) },
    create: ({ app, db }) => {
      const instance = storeFor(options, app.env, db)
      if (db?.optional && instance instanceof SqlEventStore) optionalDatabases.add(instance)
      return instance
    },
    start: async (instance) => {
      if (instance instanceof RedisEventStore) await instance.connect()
    },
    stop: (instance) => instance.close(),
    health: async (instance): Promise<HealthResult> => {
      if (instance instanceof RedisEventStore) await instance.ping()
      try {
        return { status: 'up', details: { head: await instance.headPosition() } }
      } catch (error) {
        return whileOptionalDown(optionalDatabases.has(instance), error)
      }
    },
  })
  return [store, eventStoreSchema, ProjectionRunner, QueryCacheComponent] as const
}
