import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { AccessLog, quoteRoute, type BoundHistogram, type QuotedRoute, type Container, type HistogramSeries, type Logger, type MetricsRegistry, type Scope } from '@plinth/core'
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** The container's request scope the handler runs in (undefined before preHandler). */
    scope: Scope | undefined
  }
  interface FastifyContextConfig {
    /** The level of the route's access-log line, or false for none. Default 'info'. */
    accessLog?: 'info' | 'debug' | false
  }
}

/** An incoming request id is kept when it is short and plain, so that it cannot forge log lines. */
const safeRequestId = /^[\w.:@/+=-]{1,128}$/

/**
 * Fastify's genReqId: the caller's X-Request-Id when it is safe, else `<instance>-<n>`: 48
 * random bits drawn once per server, then a counter. Unique across a fleet as a UUID would be,
 * for a few nanoseconds; a random UUID per request cost more, measured, than the whole access
 * log line.
 *
 * @example
 * fastify({ genReqId: requestIdFrom('x-request-id') }) // ids like 4f1c9a02be37-1k
 */
export function requestIdFrom(header: string): (request: IncomingMessage) => string {
  const instance = randomBytes(6).toString('hex')
  let next = 0
  return (request) => {
    const incoming = request.headers[header]
    const value = Array.isArray(incoming) ? incoming[0] : incoming
    return value !== undefined && safeRequestId.test(value) ? value : `${instance}-${(next++).toString(36)}`
  }
}

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE'])

export type HeaderList = readonly (readonly [name: string, value: string])[]

export interface RequestContextOptions {
  readonly container: () => Container
  /** Open a request scope per request; false when no provider lives in one. Default true. */
  readonly scoped?: boolean
  /** The server's logger: handlers' request.log and the access log write through it. */
  readonly log: Logger
  readonly metrics: MetricsRegistry | undefined
  readonly requestIdHeader: string
  readonly accessLog: boolean
  /** Headers every response carries (the security headers). */
  readonly headers?: HeaderList
  /** Headers only responses over HTTPS carry: Strict-Transport-Security must not be sent over plain HTTP (RFC 6797, 7.2). */
  readonly secureHeaders?: HeaderList
}

/** On a connection: the reply being served on it; a client that pipelines has more, in order. */
const kServing = Symbol('plinth.serving')
const kQueued = Symbol('plinth.queued')
type TrackedSocket = NonNullable<IncomingMessage['socket']> & { [kServing]?: FastifyReply | undefined; [kQueued]?: FastifyReply[] }

/** What one route records: a duration series per method and status, made on first use. */
class RouteStats {
  readonly route: QuotedRoute
  readonly #series = new Map<string, Map<number, HistogramSeries>>()

  constructor(route: string) {
    this.route = quoteRoute(route)
  }

  series(durations: BoundHistogram<HttpLabels>, method: string, status: number): HistogramSeries {
    let byStatus = this.#series.get(method)
    if (byStatus === undefined) this.#series.set(method, (byStatus = new Map()))
    let series = byStatus.get(status)
    if (series === undefined) {
      series = durations.series({ http_request_method: method, http_route: this.route.text, http_response_status_code: String(status) })
      byStatus.set(status, series)
    }
    return series
  }
}

type HttpLabels = 'http_request_method' | 'http_route' | 'http_response_status_code'

/**
 * The per-request machinery: the request id and security headers on every response, the
 * request scope around the handler (disposed when the response ends), the HTTP metrics, one
 * access-log line with the duration, and `Connection: close` once the server drains.
 *
 * It is Fastify's LogController, the extension point Fastify calls when a request is routed
 * and when its response has finished: hooks would each cost a runner per request and a
 * listener per response, together more than the rest of this. Each connection remembers the
 * reply it serves, so that a response that never finishes (its client went away) ends when its
 * connection closes, with an `aborted` line, and so that the drain and the active-requests
 * gauge (counted at scrape time) find every request in flight without a per-request list.
 *
 * @example
 * const context = new RequestContext({ container: () => app.container, log, metrics, requestIdHeader: 'x-request-id', accessLog: true })
 * const http = fastify({ logController: context, genReqId: requestIdFrom('x-request-id') })
 * context.install(http)
 * context.drain() // at shutdown
 */
export class RequestContext extends LogController {
  readonly #options: RequestContextOptions
  readonly #idHeader: string
  readonly #headers: HeaderList
  readonly #secureHeaders: HeaderList
  readonly #access: AccessLog | undefined
  readonly #durations: BoundHistogram<HttpLabels> | undefined
  readonly #routes = new WeakMap<object, RouteStats>()
  /** Open connections of the server. */
  readonly #sockets = new Set<TrackedSocket>()
  /** What the active-requests gauge was last told, per method: several servers share it, so it moves by differences. */
  readonly #reported = new Map<string, number>()
  readonly #offCollect: (() => void) | undefined
  #draining = false

  constructor(options: RequestContextOptions) {
    // Fastify's own request lines (incoming, completed) are replaced by the access log.
    super({ disableRequestLogging: true })
    this.#options = options
    this.#idHeader = options.requestIdHeader
    this.#headers = options.headers ?? []
    this.#secureHeaders = options.secureHeaders ?? []
    this.#access = options.accessLog ? new AccessLog(options.log) : undefined
    const metrics = options.metrics
    this.#durations = metrics?.http.requestDuration
    this.#offCollect = metrics?.beforeCollect(() => this.#reportActive(metrics))
  }

  /** Tracks the server's connections and opens the request scope around handlers, when something lives in it. */
  install(http: FastifyInstance): void {
    const track = (socket: TrackedSocket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#socketClosed(socket))
    }
    http.server.on('connection', track)
    http.server.on('secureConnection', track)
    http.decorateRequest('scope', undefined)
    // From preHandler on, after body parsing (whose stream events carry no async context), the
    // rest of the chain and the handler run inside the request scope.
    if (this.#options.scoped ?? true) {
      const container = this.#options.container
      http.addHook('preHandler', (request, _reply, done) => {
        const scope = container().createScope('request')
        request.scope = scope
        scope.run(done)
      })
    }
  }

  /** Whether responses close their connections: the server is draining. */
  get draining(): boolean {
    return this.#draining
  }

  /** From now on, and for every response not yet sent, `Connection: close`. */
  drain(): void {
    this.#draining = true
    for (const reply of this.#inFlight()) if (!reply.raw.headersSent) reply.header('connection', 'close')
  }

  /** Writes what the access log holds and stops reporting to the metrics. */
  close(): void {
    this.#access?.close()
    this.#offCollect?.()
  }

  /** Fastify calls this once a request is routed, before any hook. */
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    reply.header(this.#idHeader, request.id)
    for (const [name, value] of this.#headers) reply.header(name, value)
    if (this.#secureHeaders.length > 0 && request.protocol === 'https') for (const [name, value] of this.#secureHeaders) reply.header(name, value)
    if (this.#draining) reply.header('connection', 'close')
    const socket = request.raw.socket as TrackedSocket
    if (socket[kServing] === undefined) socket[kServing] = reply
    else (socket[kQueued] ??= []).push(reply)
  }

  /** Fastify calls this when a response has finished (or failed to). */
  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const socket = request.raw.socket as TrackedSocket
    if (socket[kServing] === reply) socket[kServing] = socket[kQueued]?.shift()
    else {
      const queued = socket[kQueued]
      const at = queued?.indexOf(reply) ?? -1
      // Not in flight: it ended as aborted when its connection closed.
      if (at === -1) return
      queued!.splice(at, 1)
    }
    // Ended, not finished: an injected response has no socket to flush, so it never reads as finished.
    this.#end(request, reply, !reply.raw.writableEnded)
  }

  #socketClosed(socket: TrackedSocket): void {
    this.#sockets.delete(socket)
    const serving = socket[kServing]
    if (serving === undefined) return
    socket[kServing] = undefined
    const queued = socket[kQueued]?.splice(0) ?? []
    for (const reply of [serving, ...queued]) this.#end(reply.request, reply, true)
  }

  *#inFlight(): Generator<FastifyReply> {
    for (const socket of this.#sockets) {
      if (socket[kServing] !== undefined) yield socket[kServing]
      if (socket[kQueued] !== undefined) yield* socket[kQueued]
    }
  }

  #reportActive(metrics: MetricsRegistry): void {
    const counts = new Map<string, number>()
    for (const method of this.#reported.keys()) counts.set(method, 0)
    for (const reply of this.#inFlight()) {
      const method = methodLabel(reply.request.method)
      counts.set(method, (counts.get(method) ?? 0) + 1)
    }
    for (const [method, count] of counts) {
      const reported = this.#reported.get(method) ?? 0
      if (count !== reported || !this.#reported.has(method)) metrics.http.activeRequests.inc({ http_request_method: method }, count - reported)
      this.#reported.set(method, count)
    }
  }

  #end(request: FastifyRequest, reply: FastifyReply, aborted: boolean): void {
    // routeOptions is a getter that builds an object: read it once.
    const { url, config } = request.routeOptions
    let stats = this.#routes.get(config)
    if (stats === undefined) this.#routes.set(config, (stats = new RouteStats(url ?? '')))
    const duration = reply.elapsedTime
    const status = reply.statusCode
    if (this.#durations !== undefined && !aborted) stats.series(this.#durations, methodLabel(request.method), status).observe(duration / 1000)
    const level = config.accessLog ?? 'info'
    if (this.#access !== undefined && level !== false) this.#access.write(level, request.id, request.method, request.url, stats.route, status, duration, aborted)
    const scope = request.scope
    if (scope) scope.dispose().catch((error: unknown) => request.log.error({ err: error }, 'disposing the request scope failed'))
  }
}

/** OpenTelemetry's http.request.method: the known methods as they are, any other as _OTHER. */
const methodLabel = (method: string): string => (knownMethods.has(method) ? method : '_OTHER')
