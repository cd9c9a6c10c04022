/**
 * The messaging component: `messaging()` provides the MessageBus token, with the backend chosen
 * from configuration (MESSAGING_URL, else NATS_URL, else REDIS_URL, else in memory), a start
 * that is required or optional as declared, health (connection and consumer lag), metrics, and
 * a shutdown that drains handlers under the stop deadline.
 */
import { hostname } from 'node:os'
import { Application, Logger, Metrics, optional, provide, token, type AnyProvider, type App, type Container, type Provider } from '@plinth/core'
import { Bus } from './bus.js'
import type { Broker } from './contract.js'
import type { DedupeStore } from './dedupe.js'
import { MemoryDedupe } from './dedupe.js'
import { messagingErrors } from './errors.js'
import { JetStreamBroker } from './jetstream.js'
import { MemoryBroker } from './memory.js'
import { busMetrics } from './metrics.js'
import { RedisBroker } from './redis-streams.js'
import { maskUrl } from './url.js'

/**
 * The app's event bus.
 *
 * @example
 * component('findings', { deps: { bus: MessageBus }, start: ({ bus }) => bus.subscribe(Reading, handle, { group: 'findings' }) })
 */
export const MessageBus = token('message-bus').of<Bus>()
/** The bus the MessageBus token provides: the EventBus contract, with start, stop, health and lag. */
export type MessageBus = Bus

export interface MessagingOptions {
  /** The broker URL; default from the environment (MESSAGING_URL, NATS_URL, REDIS_URL), unset for memory. */
  url?: string
  /**
   * A broker that cannot be reached at start degrades the app (readiness reports it, the bus
   * reconnects by itself) instead of aborting start-up. Default false: required.
   */
  optional?: boolean
  /** Redis key prefix or NATS subject prefix, so that several apps can share a broker. Default MESSAGING_PREFIX, else "plinth". */
  prefix?: string
  /** Messages kept per topic on Redis and NATS. Default 100 000. */
  maxLen?: number
  /** Messages a group may hold in memory before publish waits. Default 10 000. */
  capacity?: number
  /** Skips messages a group has handled already (by message id): an in-process store, or your own (e.g. `databaseDedupe(db)`). */
  dedupe?: 'memory' | DedupeStore
  /** Start deadline in ms. Default 30 000. */
  startTimeout?: number
  /** Stop deadline in ms: how long handlers in flight may take to finish. Default 10 000. */
  stopTimeout?: number
}

/** Where the broker URL came from: an option, or the environment variable that named it. */
export interface BrokerChoice {
  readonly url: string | undefined
  readonly source: string
}

/**
 * The broker URL the environment asks for: MESSAGING_URL, else NATS_URL (JetStream), else
 * REDIS_URL (Redis Streams), else none (in memory).
 *
 * @example
 * chooseBroker({ REDIS_URL: 'redis://cache:6379' }) // { url: 'redis://cache:6379', source: 'REDIS_URL' }
 */
export function chooseBroker(env: NodeJS.ProcessEnv, url?: string): BrokerChoice {
  if (url !== undefined) return { url, source: 'the messaging() options' }
  for (const name of ['MESSAGING_URL', 'NATS_URL', 'REDIS_URL']) {
    const value = env[name]
    if (value !== undefined && value !== '') return { url: value, source: name }
  }
  return { url: undefined, source: 'the default' }
}

/**
 * A broker for a URL: redis:// and rediss:// make Redis Streams, nats:// JetStream, memory://
 * or none the in-memory broker; anything else is PLINTH_ERR_MESSAGING_UNSUPPORTED_URL.
 *
 * @example
 * const broker = brokerFor('nats://127.0.0.1:4222', { prefix: 'orders' })
 */
export function brokerFor(url: string | undefined, options: Pick<MessagingOptions, 'prefix' | 'maxLen' | 'capacity'> = {}, source = 'the URL given'): Broker {
  if (url === undefined || url === 'memory://' || url === 'memory:') return new MemoryBroker({ capacity: options.capacity })
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase()
  if (scheme === 'redis' || scheme === 'rediss') return new RedisBroker({ url, prefix: `${options.prefix ?? 'plinth'}:`, maxLen: options.maxLen })
  if (scheme === 'nats') return new JetStreamBroker({ url, prefix: options.prefix ?? 'plinth', maxLen: options.maxLen })
  throw messagingErrors.create('PLINTH_ERR_MESSAGING_UNSUPPORTED_URL', `${maskUrl(url)} (from ${source}) is not a messaging URL: its scheme is ${scheme === undefined ? 'missing' : `"${scheme}"`}`)
}

const deps = { app: Application, log: Logger, metrics: optional(Metrics) }

/** The app's container, or none when the bus is built outside a started app (`plinth dlq`), where no handler runs. */
function containerOf(app: App): Container | undefined {
  try {
    return app.container
  } catch {
    return undefined
  }
}

/**
 * The messaging component. Handlers run in a "message" scope of the app's container; metrics
 * go to the app's registry; at stop, subscriptions stop taking messages, handlers in flight
 * finish (acknowledged) until the stop deadline, and the rest is left for redelivery.
 *
 * @example
 * export const app = createApp({ name: 'plant', components: [messaging({ optional: true })], modules: [telemetry] })
 * // in a module: deps: { bus: MessageBus }, then bus.publish(Reading, reading)
 */
export function messaging(options: MessagingOptions = {}): Provider<Bus, 'message-bus', typeof deps> {
  const sources = busSources
  const provider = provide(MessageBus, {
    deps,
    create: ({ app, log, metrics }) => {
      const choice = chooseBroker(app.env, options.url)
      const prefix = options.prefix ?? (app.env.MESSAGING_PREFIX || undefined)
      const broker = brokerFor(choice.url, { ...options, prefix }, choice.source)
      const lag = { of: (): Promise<Record<string, number>> => Promise.resolve({}) }
      const observer = metrics === undefined ? undefined : busMetrics(metrics, () => lag.of())
      const bus = new Bus({
        broker,
        container: containerOf(app),
        observer,
        log,
        instanceId: `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`,
        dedupe: options.dedupe === 'memory' ? new MemoryDedupe() : options.dedupe,
      })
      lag.of = () => bus.lag()
      sources.set(bus, choice.source)
      return bus
    },
    start: async (bus, { signal }) => {
      try {
        await bus.start({ signal, optional: options.optional })
      } catch (error) {
        throw messagingErrors.create(
          'PLINTH_ERR_MESSAGING_UNAVAILABLE',
          `the ${bus.backend} message broker at ${bus.broker.url} (from ${sources.get(bus)}) could not be reached at start: ${error instanceof Error && 'cause' in error && error.cause instanceof Error ? error.cause.message : String(error)}`,
          { cause: error },
        )
      }
    },
    // Handlers get most of the stop deadline; the rest is for acknowledging and closing the
    // connection, so the component itself stops in time.
    stop: (bus, { signal }) => bus.stop(AbortSignal.any([signal, AbortSignal.timeout(Math.floor((options.stopTimeout ?? 10_000) * 0.8))])),
    health: (bus) => bus.health(),
    optional: options.optional,
    eager: true,
    startTimeout: options.startTimeout ?? 30_000,
    stopTimeout: options.stopTimeout ?? 10_000,
  })
  messagingProviders.add(provider)
  return provider
}

/** The providers messaging() made, so that the preflight finds them. */
export const messagingProviders = new WeakSet<AnyProvider>()

/** Where each bus's broker URL came from (`env MESSAGING_URL`, `option`, ...), for messages. */
export const busSources = new WeakMap<Bus, string>()
