import { Application, Logger, Metrics, component, listensOn, optional, provide, token, type AnyProvider, type App } from '@plinth/core'
import { WsHandlers } from './handlers.js'
import { MemoryPubSub, WsPubSub, type PubSub } from './pubsub.js'
import { WsServer, channelPrefix, wsListener, type WsServerOptions } from './server.js'
import { publishEvent } from './topics.js'

/** Publishes to topics from anywhere in the app, without holding the server. */
export interface WsBroadcaster {
  /** Sends `data` to every subscriber of `topic`, on every instance. */
  broadcast(topic: string, data: unknown): Promise<void>
}

// Without a WsPubSub provider, the server and the broadcaster of one app share one in-memory bus.
const memoryBuses = new WeakMap<App, MemoryPubSub>()
const busOf = (app: App, pubsub: PubSub | undefined): PubSub => {
  if (pubsub) return pubsub
  let bus = memoryBuses.get(app)
  if (bus === undefined) memoryBuses.set(app, (bus = new MemoryPubSub()))
  return bus
}

/**
 * The WebSocket server as a component: eager, started with the app, listening on WS_PORT
 * (default 8765), healthy while it accepts connections (its readiness check is named
 * "ws-server"), draining at shutdown so that clients receive 1001.
 *
 * @example
 * export const app = createApp({
 *   name: 'chat',
 *   components: [wsServer({ heartbeatInterval: 15_000 }), wsBroadcast],
 *   modules: [chat], // contributes WsHandlers
 * })
 */
export function wsServer(options: WsServerOptions = {}) {
  const provider = component('ws-server', {
    eager: true,
    deps: { app: Application, handlers: WsHandlers, pubsub: optional(WsPubSub), metrics: Metrics, log: Logger },
    create: ({ app, handlers, pubsub, metrics, log }) => new WsServer({ app, handlers, pubsub: busOf(app, pubsub), metrics, log }, options),
    start: async (server) => {
      await server.listen()
    },
    stop: (server, { signal }) => server.close(signal),
    health: (server) => (server.listening ? { status: 'up', details: { connections: server.size, url: server.url } } : 'down'),
  })
  wsServerProviders.add(provider)
  return listensOn(provider, wsListener, options)
}

/** The providers wsServer() made, so that the preflight finds them. */
export const wsServerProviders = new WeakSet<AnyProvider>()

/**
 * Lets any component publish to WebSocket topics: `deps: { ws: WsBroadcast }`.
 *
 * @example
 * component('progress', {
 *   deps: { ws: WsBroadcast },
 *   create: ({ ws }) => ({ report: (job: string, done: number) => ws.broadcast(`jobs:${job}`, { done }) }),
 * })
 */
export const WsBroadcast = token('ws-broadcast').of<WsBroadcaster>()

/** The provider of WsBroadcast; add it to the app beside wsServer(). */
export const wsBroadcast = provide(WsBroadcast, {
  deps: { app: Application, pubsub: optional(WsPubSub) },
  create: ({ app, pubsub }): WsBroadcaster => {
    const bus = busOf(app, pubsub)
    return { broadcast: (topic, data) => publishEvent(bus, channelPrefix, topic, data) }
  },
})
