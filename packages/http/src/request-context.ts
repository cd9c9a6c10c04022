import { randomBytes } from 'node:crypto'
import { createServer, ServerResponse, type IncomingMessage, type ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { callerCorrelation, withCorrelation, type BoundHistogram, type Container, type HistogramSeries, type Logger, type MetricsRegistry, type Scope } from '@plinth/core'
import { AccessLog, type AccessShape } from './access-log.js'
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from 'fastify'
import { requestLogger } from './request-logger.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The container's request scope the handler runs in (undefined before preValidation). */
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
    if (value !== undefined && safeRequestId.test(value)) return value
    // V8 holds a concatenation of 13 characters or more as a rope, and Node checks every header
    // value with a regular expression, which flattens a rope first in a slow runtime call that
    // costs more than making the id; trim() returns it flat.
    return `${instance}-${(next++).toString(36)}`.trim()
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
  /** The caller's correlation header (lower case); undefined: handlers run without a causal context. */
  readonly correlationHeader?: string | undefined
  readonly accessLog: boolean
  /** The level of access lines for routes that do not set their own. Default 'info'. */
  readonly accessLevel?: 'info' | 'debug'
  /** Headers every response carries (the security headers). */
  readonly headers?: HeaderList
  /** Headers only responses over HTTPS carry: Strict-Transport-Security must not be sent over plain HTTP (RFC 6797, 7.2). */
  readonly secureHeaders?: HeaderList
}

/** On a connection: the reply being served on it; a client that pipelines has more, in order. */
const kServing = Symbol('plinth.serving')
const kQueued = Symbol('plinth.queued')
type TrackedSocket = NonNullable<IncomingMessage['socket']> & { [kServing]?: FastifyReply | undefined; [kQueued]?: FastifyReply[] }

/** On a response: the reply Fastify made for it, and when it was routed (performance.now()). */
const kReply = Symbol('plinth.reply')
const kStartedAt = Symbol('plinth.startedAt')
type TimedResponse = ServerResponse & { [kReply]?: FastifyReply | undefined; [kStartedAt]?: number }

/** What of its options Fastify hands its serverFactory (as given or defaulted) that Node's server takes. */
interface ServerFactoryOptions {
  readonly http?: ServerOptions | null
  readonly keepAliveTimeout: number
  readonly requestTimeout: number
  readonly connectionTimeout: number
  readonly maxRequestsPerSocket: number
}

/** What requests with one method and status on a route share: their duration series and access-line shape. */
interface Outcome {
  readonly series: HistogramSeries | undefined
  readonly shape: AccessShape | undefined
}

/** What one route records, per method and status, made on first use. */
class RouteStats {
  readonly #route: string
  readonly #outcomes = new Map<string, Map<number, Outcome>>()
  // Most requests to a route end alike: the last outcome is checked first.
  #last: Outcome | undefined
  #lastMethod = ''
  #lastStatus = 0

  constructor(route: string) {
    this.#route = route
  }

  outcome(method: string, status: number, durations: BoundHistogram<HttpLabels> | undefined, access: AccessLog | undefined): Outcome {
    if (method === this.#lastMethod && status === this.#lastStatus) return this.#last!
    let byStatus = this.#outcomes.get(method)
    if (byStatus === undefined) this.#outcomes.set(method, (byStatus = new Map()))
    let outcome = byStatus.get(status)
    if (outcome === undefined) {
      outcome = {
        series: durations?.series({ http_request_method: methodLabel(method), http_route: this.#route, http_response_status_code: String(status) }),
        shape: access?.shape(method, this.#route, status),
      }
      byStatus.set(status, outcome)
    }
    this.#last = outcome
    this.#lastMethod = method
    this.#lastStatus = status
    return outcome
  }
}

type HttpLabels = 'http_request_method' | 'http_route' | 'http_response_status_code'

/**
 * The per-request machinery: the request id and security headers on every response, the
 * request scope around the handler (disposed when the response ends), the HTTP metrics, one
 * access-log line with the duration, and `Connection: close` once the server drains.
 *
 * It runs where Fastify and Node already are, rather than in hooks and listeners, which on a
 * plain JSON route cost more than all the rest:
 * - It is Fastify's LogController, which Fastify calls once a request is routed: there it
 *   stamps the start, sets the request's logger, the request id and the headers.
 * - Its `serverFactory` gives Fastify Node's server with responses of a class that reports its
 *   own end here (from `detachSocket`, which Node calls once it has finished), so that there is
 *   no listener per response; and so Fastify needs no
 *   logger of its own (with one, it sets up two listeners and reads the clock twice per
 *   response). Responses of another kind (`inject()`'s, those of a user's serverFactory) get a
 *   `finish` listener each instead.
 * - Each connection remembers the reply it serves, so that a response that never finishes (its
 *   client went away) ends when its connection closes, with an `aborted` line, and so that the
 *   drain and the active-requests gauge (counted at scrape time) find every request in flight
 *   without a per-request list.
 *
 * @example
 * const context = new RequestContext({ container: () => app.container, log, metrics, requestIdHeader: 'x-request-id', accessLog: true })
 * const http = fastify({ logController: context, serverFactory: context.serverFactory, genReqId: requestIdFrom('x-request-id') })
 * http.log = log
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
  /** performance.now() of the last connection accepted or request routed: when traffic last arrived. */
  #lastArrival = 0

  /**
   * Node's response, telling this context when it has finished: Node's own `finish` listener
   * (the first, added before Fastify sees the request) hands the connection on to the next
   * request with `detachSocket`, once per finished response. Overriding that costs nothing per
   * response, where overriding `emit` or listening costs a call on every event.
   */
  readonly #Response = ((context: RequestContext) =>
    class PlinthResponse extends ServerResponse {
      override detachSocket(socket: Socket): void {
        super.detachSocket(socket)
        context.#finished(this)
      }
    })(this)

  /**
   * Fastify's serverFactory: the HTTP server Fastify would make, with the options it would set,
   * whose responses report their own end.
   *
   * @example
   * fastify({ logController: context, serverFactory: context.serverFactory })
   */
  readonly serverFactory: FastifyServerFactory = (handler, given) => {
    const options = given as unknown as ServerFactoryOptions
    // Node types a server by its response class; this one's adds two fields.
    const server = createServer({ ...options.http, ServerResponse: this.#Response as typeof ServerResponse }, handler)
    server.keepAliveTimeout = options.keepAliveTimeout
    server.requestTimeout = options.requestTimeout
    server.setTimeout(options.connectionTimeout)
    if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket
    return server
  }

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

  /** Tracks the server's connections and runs handlers in the request's causal context and its scope (when something lives in it). */
  install(http: FastifyInstance): void {
    const track = (socket: TrackedSocket) => {
      this.#lastArrival = performance.now()
      this.#sockets.add(socket)
      socket.once('close', () => this.#socketClosed(socket))
    }
    http.server.on('connection', track)
    http.server.on('secureConnection', track)
    http.decorateRequest('scope', undefined)
    // From preValidation on, after body parsing (whose stream events carry no async context), the
    // rest of the chain and the handler run inside the request's causal context and scope: an
    // auth guard in preValidation puts its principal there, and refuses a request before its
    // body is validated.
    const scoped = this.#options.scoped ?? true
    const header = this.#options.correlationHeader
    if (!scoped && header === undefined) return
    const container = this.#options.container
    const openScope = (request: FastifyRequest, done: () => void) => {
      const scope = container().createScope('request')
      request.scope = scope
      scope.run(done)
    }
    // One hook for both: one step fewer in every request's chain.
    http.addHook('preValidation', (request, _reply, done) => {
      if (header === undefined) return openScope(request, done)
      const requestId = String(request.id)
      withCorrelation(callerCorrelation(request.headers[header]) ?? requestId, scoped ? () => openScope(request, done) : done, requestId)
    })
  }

  /** Whether responses close their connections: the server is draining. */
  get draining(): boolean {
    return this.#draining
  }

  /** Milliseconds since a connection was last accepted or a request last arrived. */
  get quietFor(): number {
    return performance.now() - this.#lastArrival
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
    const response: TimedResponse = reply.raw
    response[kStartedAt] = this.#lastArrival = performance.now()
    response[kReply] = reply
    if (!(response instanceof this.#Response)) response.once('finish', () => this.#finished(response))
    request.log = reply.log = requestLogger(this.#options.log, request)
    reply.header(this.#idHeader, request.id)
    for (const [name, value] of this.#headers) reply.header(name, value)
    if (this.#secureHeaders.length > 0 && request.protocol === 'https') for (const [name, value] of this.#secureHeaders) reply.header(name, value)
    if (this.#draining) reply.header('connection', 'close')
    const socket = request.raw.socket as TrackedSocket
    if (socket[kServing] === undefined) socket[kServing] = reply
    else (socket[kQueued] ??= []).push(reply)
  }

  /** A response has finished: handed to the operating system whole. */
  #finished(response: TimedResponse): void {
    const reply = response[kReply]
    // Not one Fastify routed (it answered a malformed URL itself).
    if (reply === undefined) return
    const socket = reply.request.raw.socket as TrackedSocket
    if (socket[kServing] === reply) socket[kServing] = socket[kQueued]?.shift()
    else {
      const queued = socket[kQueued]
      const at = queued?.indexOf(reply) ?? -1
      // Not in flight: it ended as aborted when its connection closed.
      if (at === -1) return
      queued!.splice(at, 1)
    }
    this.#end(reply, false)
  }

  #socketClosed(socket: TrackedSocket): void {
    this.#sockets.delete(socket)
    const serving = socket[kServing]
    if (serving === undefined) return
    socket[kServing] = undefined
    const queued = socket[kQueued]?.splice(0) ?? []
    for (const reply of [serving, ...queued]) this.#end(reply, true)
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

  #end(reply: FastifyReply, aborted: boolean): void {
    const endedAt = performance.now()
    const request = reply.request
    // routeOptions is a getter that builds an object: read it once.
    const { url, config } = request.routeOptions
    let stats = this.#routes.get(config)
    if (stats === undefined) this.#routes.set(config, (stats = new RouteStats(url ?? '')))
    const duration = endedAt - (reply.raw as TimedResponse)[kStartedAt]!
    const level = config.accessLog ?? this.#options.accessLevel ?? 'info'
    const access = level === false ? undefined : this.#access
    const { series, shape } = stats.outcome(request.method, reply.statusCode, this.#durations, access)
    if (series !== undefined && !aborted) series.observe(duration / 1000)
    if (shape !== undefined && access !== undefined && level !== false) access.write(level, shape, request.id, request.url, duration, aborted, endedAt)
    // After the response's other finish listeners (Fastify's onResponse hooks) have run.
    if (request.scope) process.nextTick(disposeScope, request)
  }
}

function disposeScope(request: FastifyRequest): void {
  request.scope?.dispose().catch((error: unknown) => request.log.error({ err: error }, 'disposing the request scope failed'))
}

/** OpenTelemetry's http.request.method: the known methods as they are, any other as _OTHER. */
const methodLabel = (method: string): string => (knownMethods.has(method) ? method : '_OTHER')
