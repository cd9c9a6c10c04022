import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { bindNetServer, callerCorrelation, listenAddress, listenOn, urlOf, type App, type ListenAddress, type Logger, type MetricsRegistry } from '@plinth/core'
import { WebSocketServer, type WebSocket } from 'ws'
import { WsConnection } from './connection.js'
import { Dispatcher, type TopicGuard } from './dispatch.js'
import type { WsHandler } from './handlers.js'
import type { PubSub } from './pubsub.js'
import type { RateLimit } from './rate-limit.js'
import { Topics } from './topics.js'

export interface WsServerOptions {
  /** Default: config `ws.port`, else WS_PORT, else 8765. 0 picks a free port. */
  port?: number
  /** Default: config `ws.host`, else config `host`, else 127.0.0.1. */
  host?: string
  /** Accept upgrades on this path only. Default: any path. */
  path?: string
  /** Largest message accepted, in bytes; a bigger one closes the connection with 1009 (message too big). Default 64 KiB. */
  maxMessageBytes?: number
  /** Milliseconds between pings; a peer that has not answered the previous ping is dropped. Default 30 000. */
  heartbeatInterval?: number
  /** Messages allowed per connection. Default 100 per 1 000 ms; false for none. */
  rateLimit?: RateLimit | false
  /** Whether a connection may join a topic. Default: any topic. */
  canSubscribe?: TopicGuard
  /**
   * At shutdown, the time running handlers get to finish and then clients get to answer the
   * 1001 close before they are cut off, in ms; the stop deadline cuts it shorter. Default 5 000.
   */
  drainTimeout?: number
}

export interface WsServerDeps {
  readonly app: App
  readonly handlers: readonly WsHandler[]
  readonly pubsub: PubSub
  readonly metrics: MetricsRegistry
  readonly log: Logger
}

/** The pub/sub channel prefix of topic broadcasts; every instance must agree on it. */
export const channelPrefix = 'plinth:ws:'

const labels = { server_type: 'websocket' } as const
const addressDefaults = { key: 'ws', env: 'WS_PORT', port: 8765 } as const
/** Where the WebSocket server listens, as listenOn and the port check before start read it. */
export const wsListener = { server: 'WebSocket', ...addressDefaults } as const

/**
 * The WebSocket server: accepts connections, dispatches JSON messages to the registered
 * handlers, fans topic broadcasts out through the pub/sub backend, drops peers that stop
 * answering pings, and at shutdown lets running handlers finish and closes every client with
 * 1001 (going away).
 *
 * @example
 * const server = wsServer({ port: 0 })
 * await using t = await startTestApp(createApp({ name: 'chat', components: [server, echo] }))
 * await t.get(server).broadcast('chat:lobby', { text: 'hello' }) // every subscriber, on every instance
 */
export class WsServer {
  readonly topics: Topics
  readonly #deps: WsServerDeps
  readonly #options: WsServerOptions
  readonly #connections = new Map<WebSocket, WsConnection>()
  #dispatcher: Dispatcher | undefined
  #http: Server | undefined
  #wss: WebSocketServer | undefined
  #heartbeat: NodeJS.Timeout | undefined
  #closing = false
  #url = ''

  constructor(deps: WsServerDeps, options: WsServerOptions = {}) {
    this.#deps = deps
    this.#options = options
    this.topics = new Topics(deps.pubsub, channelPrefix, deps.log)
  }

  /** `ws://host:port/path`, once listening. */
  get url(): string {
    return this.#url
  }

  /** Where it listens, or will once started: its options, then the app's configuration (`ws.port`), then WS_PORT, then 8765. */
  address(): ListenAddress & { readonly path: string } {
    return { ...listenAddress(this.#deps.app, addressDefaults, this.#options), path: this.#options.path ?? '/' }
  }

  /** Listening and not shutting down. */
  get listening(): boolean {
    return this.#http?.listening === true && !this.#closing
  }

  /** Open connections on this instance. */
  get size(): number {
    return this.#connections.size
  }

  /** Every open connection on this instance. */
  connections(): WsConnection[] {
    return [...this.#connections.values()]
  }

  /** Sends `data` to every subscriber of `topic`, on every instance. */
  broadcast(topic: string, data: unknown): Promise<void> {
    return this.topics.broadcast(topic, data)
  }

  /** Starts listening; resolves with the URL. Fails with PLINTH_ERR_LISTEN_FAILED naming the port's source. */
  async listen(): Promise<string> {
    const { app, handlers, log } = this.#deps
    this.#dispatcher = new Dispatcher(handlers, app.container, this.topics, log, this.#options.canSubscribe ?? (() => true))
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.#options.maxMessageBytes ?? 64 * 1024 })
    const http = createServer((_req, res) => {
      res.writeHead(426, { upgrade: 'websocket', 'content-type': 'text/plain; charset=utf-8' }).end('this is a WebSocket endpoint; connect with a WebSocket client\n')
    })
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(wss, req, socket, head))
    wss.on('connection', (socket: WebSocket, req: IncomingMessage) => this.#accept(socket, req))
    const { bound } = await listenOn(app, wsListener, this.#options, (address) => bindNetServer(http, address))
    this.#http = http
    this.#wss = wss
    this.#url = urlOf(bound, this.#options.path ?? '').replace(/^http:/, 'ws:')
    this.#deps.metrics.app.activeConnections.inc(labels, 0)
    const interval = this.#options.heartbeatInterval ?? 30_000
    this.#heartbeat = setInterval(() => this.#beat(), interval)
    this.#heartbeat.unref()
    app.announce('websocket', this.#url)
    log.info({ url: this.#url, types: this.#dispatcher.types() }, `WebSocket server listening on ${this.#url}`)
    return this.#url
  }

  /**
   * Drains: refuses new connections and messages, lets running handlers finish, closes every
   * client with 1001 and waits for their answers, all within `drainTimeout`; whoever has not answered by then,
   * or when `signal` fires, is cut off.
   */
  async close(signal?: AbortSignal): Promise<void> {
    const http = this.#http
    if (http === undefined || this.#closing) return
    this.#closing = true
    clearInterval(this.#heartbeat)
    if (this.#dispatcher) this.#dispatcher.draining = true
    const closed = new Promise<void>((resolve) => http.close(() => resolve()))
    const grace = AbortSignal.any([AbortSignal.timeout(this.#options.drainTimeout ?? 5_000), ...(signal ? [signal] : [])])
    await settledOrAborted([...(this.#dispatcher?.inFlight ?? [])], grace)
    const sockets = [...this.#connections.keys()]
    const gone = sockets.map((socket) => new Promise<void>((resolve) => (socket.readyState === socket.CLOSED ? resolve() : socket.once('close', () => resolve()))))
    for (const socket of sockets) socket.close(1001, 'server shutting down')
    await settledOrAborted(gone, grace)
    for (const socket of this.#connections.keys()) socket.terminate()
    await this.topics.close()
    this.#wss?.close()
    http.closeAllConnections()
    await closed
    this.#http = undefined
  }

  #upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = this.#options.path
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    if (this.#closing) return void refuse('503 Service Unavailable')
    if (path !== undefined && (req.url ?? '/').split('?')[0] !== path) return void refuse('404 Not Found')
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  }

  #accept(socket: WebSocket, req: IncomingMessage): void {
    const { app, metrics, log } = this.#deps
    const dispatcher = this.#dispatcher!
    const connection = new WsConnection(socket, req.socket.remoteAddress, app.container.createScope('connection'), this.#options.rateLimit ?? { messages: 100, interval: 1_000 }, callerCorrelation(req.headers['x-correlation-id']))
    this.#connections.set(socket, connection)
    metrics.app.activeConnections.inc(labels)
    socket.on('pong', () => (connection.alive = true))
    socket.on('message', (data, isBinary) => dispatcher.receive(connection, data, isBinary))
    socket.on('error', (error) => log.debug({ err: error, connection: connection.id }, 'WebSocket connection error'))
    socket.once('close', (code) => {
      this.#connections.delete(socket)
      metrics.app.activeConnections.dec(labels)
      connection.markClosed()
      log.debug({ connection: connection.id, code }, 'WebSocket connection closed')
      void this.topics.leaveAll(connection).finally(() => connection.scope.dispose().catch((error: unknown) => log.warn({ err: error }, 'disposing a connection scope failed')))
    })
    log.debug({ connection: connection.id, remoteAddress: connection.remoteAddress }, 'WebSocket connection opened')
  }

  /** Drops every peer that did not answer the previous ping, and pings the others. */
  #beat(): void {
    for (const [socket, connection] of this.#connections) {
      if (!connection.alive) {
        this.#deps.log.info({ connection: connection.id }, 'dropping a WebSocket peer that stopped answering pings')
        socket.terminate()
        continue
      }
      connection.alive = false
      socket.ping()
    }
  }
}

/** Waits for every promise to settle, or for the signal, whichever comes first. */
async function settledOrAborted(promises: Promise<unknown>[], signal: AbortSignal): Promise<void> {
  if (promises.length === 0 || signal.aborted) return
  let onAbort: (() => void) | undefined
  const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', (onAbort = () => resolve()), { once: true }))
  try {
    await Promise.race([Promise.allSettled(promises), aborted])
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}
