import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { bindNetServer, listenOn, urlOf, type App, type Logger, type MetricsRegistry } from '@plinth/core'
import type { GraphQLSchema } from 'graphql'
import { httpHandler } from './http.js'
import type { OperationLimits } from './operation.js'
import { assembleSchema, type GraphQLSchemaPart } from './schema-parts.js'
import { SubscriptionTransport } from './subscriptions.js'

/** Where the GraphQL server listens, as listenOn and the port check before start read it. */
export const graphqlListener = { server: 'GraphQL', key: 'graphql', env: 'GRAPHQL_PORT', port: 8080 } as const

export interface GraphQLServerOptions extends OperationLimits {
  /** Default: config `graphql.port`, else GRAPHQL_PORT, else 8080. 0 picks a free port. */
  port?: number
  /** Default: config `graphql.host`, else config `host`, else 127.0.0.1. */
  host?: string
  /** Where queries (HTTP) and subscriptions (WebSocket) are served. Default `/graphql`. */
  path?: string
  /** Largest HTTP body or WebSocket message, in bytes. Default 1 MiB. */
  maxBodyBytes?: number
  /** Send internal errors' own messages to clients (development only). Default false. */
  exposeErrors?: boolean
  /** Milliseconds between WebSocket pings; a client that does not answer is dropped. Default 12 000. */
  keepAlive?: number
  /**
   * At shutdown, how long requests in flight get to finish and subscriptions to be completed
   * before connections are cut, in ms; the stop deadline cuts it shorter. Default 5 000.
   */
  drainTimeout?: number
}

export interface GraphQLServerDeps {
  readonly app: App
  readonly parts: readonly GraphQLSchemaPart[]
  readonly metrics: MetricsRegistry
  readonly log: Logger
}

/**
 * The GraphQL server: one node:http server for queries and mutations over HTTP and, on the
 * same path, subscriptions over WebSocket (graphql-ws). At shutdown it stops accepting,
 * answers in-flight requests with `Connection: close`, completes every subscription, and
 * closes sockets with 1001.
 *
 * @example
 * const server = graphqlServer({ port: 0 })
 * await using t = await startTestApp(createApp({ name: 'api', components: [server, ...schemaParts] }))
 * const res = await fetch(t.get(server).url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ hello }"}' })
 */
export class GraphQLServer {
  readonly #deps: GraphQLServerDeps
  readonly #options: GraphQLServerOptions
  #schema: GraphQLSchema | undefined
  #http: Server | undefined
  #subscriptions: SubscriptionTransport | undefined
  #closing = false
  #url = ''

  constructor(deps: GraphQLServerDeps, options: GraphQLServerOptions = {}) {
    this.#deps = deps
    this.#options = options
  }

  /** `http://host:port/graphql`, once listening (the WebSocket URL is the same with ws:). */
  get url(): string {
    return this.#url
  }

  get listening(): boolean {
    return this.#http?.listening === true && !this.#closing
  }

  /** The assembled schema, once listening. */
  get schema(): GraphQLSchema | undefined {
    return this.#schema
  }

  /** Assembles the schema and starts listening; resolves with the URL. */
  async listen(): Promise<string> {
    const { app, parts, metrics, log } = this.#deps
    const options = this.#options
    const path = options.path ?? '/graphql'
    const schema = assembleSchema(parts)
    const exposeErrors = options.exposeErrors ?? false
    const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024
    // Introspection and suggestions map the schema for anyone: off in production unless asked for.
    const limits = { ...options, introspection: options.introspection ?? app.appEnv !== 'production', suggestions: options.suggestions ?? app.appEnv !== 'production' }
    const handle = httpHandler({ schema, container: app.container, log, path, limits, maxBodyBytes, exposeErrors, draining: () => this.#closing })
    const subscriptions = new SubscriptionTransport({ schema, container: app.container, log, metrics, limits, exposeErrors, maxMessageBytes: maxBodyBytes, keepAlive: options.keepAlive ?? 12_000 })
    const http = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        log.error({ err: error }, 'the GraphQL HTTP handler failed')
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}')
      })
    })
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      if (this.#closing) return void refuse('503 Service Unavailable')
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== path) return void refuse('404 Not Found')
      subscriptions.upgrade(req, socket, head)
    })
    const { bound } = await listenOn(app, graphqlListener, options, (address) => bindNetServer(http, address))
    this.#schema = schema
    this.#http = http
    this.#subscriptions = subscriptions
    this.#url = urlOf(bound, path)
    app.announce('graphql', this.#url)
    log.info({ url: this.#url }, `GraphQL server listening on ${this.#url}`)
    return this.#url
  }

  /**
   * Drains: stops accepting, lets requests in flight finish (their responses close the
   * connection), completes subscriptions and closes their sockets with 1001; whatever is left
   * after `drainTimeout`, or when `signal` fires, is cut off.
   */
  async close(signal?: AbortSignal): Promise<void> {
    const http = this.#http
    if (http === undefined || this.#closing) return
    this.#closing = true
    const grace = AbortSignal.any([AbortSignal.timeout(this.#options.drainTimeout ?? 5_000), ...(signal ? [signal] : [])])
    const closed = new Promise<void>((resolve) => http.close(() => resolve()))
    http.closeIdleConnections()
    const cut = () => http.closeAllConnections()
    grace.addEventListener('abort', cut, { once: true })
    await this.#subscriptions?.close(grace)
    await closed
    grace.removeEventListener('abort', cut)
    this.#http = undefined
  }
}
