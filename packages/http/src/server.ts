import type { FastifyCorsOptions } from '@fastify/cors'
import type { FastifyHelmetOptions } from '@fastify/helmet'
import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import { Application, Health, listenAddress, listenOn, Logger, Metrics, urlOf, type AnyProvider, type App, type HealthRegistry, type MetricsRegistry } from '@plinth/core'
import { component, listensOn, servesMetrics } from '@plinth/core'
import { fastify as createFastify, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { requireJsonBodies, strictBodyValidators } from './body-validation.js'
import { apiSecurityHeaders, registerDocs, registerSecurity, securityHeaders, type DocsOptions } from './plugins.js'
import { installProbes, type HealthDetails } from './probes.js'
import { installProblemHandlers } from './problems.js'
import { installRedaction } from './redaction.js'
import { RequestContext, requestIdFrom } from './request-context.js'
import { registerRoutes, Routes, type RouteContribution } from './routes.js'
import { sharedSerializers } from './serializers.js'
import { httpErrors } from './errors.js'

type PinoLogger = App['logger']

export interface HttpServerOptions {
  /** The component's name; give a second server (an admin port) another one. Default `http-server`. */
  name?: string
  /** Default: config `http.port`, else HTTP_PORT, else 8000. 0 picks a free port. */
  port?: number
  /** Default: config `http.host`, else config `host`, else 127.0.0.1. A name (`localhost`) binds the first address it resolves to. */
  host?: string
  /** Build the server without listening, for tests through `inject()`. Default true. */
  listen?: boolean
  /** Largest request body accepted, in bytes; larger ones get a 413 problem. Default 1 MiB. */
  bodyLimit?: number
  /** Security headers (@fastify/helmet options), or false. Default `apiSecurityHeaders`; `{}` gives helmet's own (HTML) defaults. */
  helmet?: FastifyHelmetOptions | false
  /**
   * CORS (@fastify/cors options), or false for no CORS headers. Default false. A function is
   * called at start with the app, to take allowed origins from its configuration. Preflights
   * allow `corsMethods` (GET, HEAD, POST, PUT, PATCH, DELETE) unless `methods` is given; an
   * origin that a listed `origin` (string, RegExp or list) does not match gets no CORS headers.
   */
  cors?: FastifyCorsOptions | false | ((app: App) => FastifyCorsOptions | false)
  /**
   * Per-client rate limits (@fastify/rate-limit options), or false. Default false: behind a
   * proxy every client has the proxy's address unless `trustProxy` is set, and a default limit
   * would then throttle the whole load balancer. A function is called at start with the app,
   * to take the limits from its configuration.
   */
  rateLimit?: RateLimitPluginOptions | false | ((app: App) => RateLimitPluginOptions | false)
  /**
   * The OpenAPI document and its Swagger UI, or false. Default: at /docs, except in production,
   * where a public map of the API is not what every service wants and loading the two plugins
   * is a third of the server's start (50 ms); pass `docs: {}` to serve them there too.
   */
  docs?: DocsOptions | false
  /** Who sees check details at /health. Default 'never' in production, 'always' elsewhere. */
  healthDetails?: HealthDetails
  /** Serve the Prometheus exposition on this port too, at `/metrics` or the path given. Default false. */
  metrics?: boolean | { path?: string }
  /**
   * One line per request with its duration, at this level (a route's `config.accessLog` wins).
   * true: `debug` in development, so that requests do not drown the rest of a terminal, `info`
   * elsewhere. Default true.
   */
  accessLog?: boolean | 'info' | 'debug'
  /** The request id header, honoured when safe and always returned. Default `x-request-id`. */
  requestIdHeader?: string
  /**
   * Each handler runs with the request as the cause of what it publishes (messages, events):
   * their correlation id is the caller's correlation header when it is one short plain value,
   * else the request id; their causation id is the request id. `{ header }` names the header
   * (default `x-correlation-id`); false leaves handlers without a causal context. Default true.
   */
  correlation?: boolean | { header?: string }
  /** Fastify's trustProxy: whose X-Forwarded-For to believe (for client addresses and rate limits). */
  trustProxy?: FastifyServerOptions['trustProxy']
  /** Keep-alive timeout of idle connections, in milliseconds. Default 72 000 (above common load balancers' 60 s). */
  keepAliveTimeout?: number
  /** How long in-flight requests may take to finish at shutdown before their connections are cut, in ms. Default 10 000. */
  drainTimeout?: number
  /**
   * At shutdown the server keeps accepting (answering with `Connection: close`) until no
   * connection or request has arrived for this long, in ms, and for at most half the drain
   * timeout; only then do idle connections and the listener close. Default 250.
   */
  quietPeriod?: number
  /**
   * Error messages in 5xx responses, and stacks in 500s (unexpected errors) only: an expected
   * 503 or 504 carries its message but no stack. Default: in development only.
   */
  exposeErrors?: boolean
  /** Any other Fastify server option. */
  fastify?: Omit<FastifyServerOptions, 'logger' | 'loggerInstance' | 'childLoggerFactory' | 'genReqId' | 'bodyLimit' | 'trustProxy'>
}

/** The options each httpServer() provider was made with, for the preflight checks. */
export const httpServerOptions = new WeakMap<AnyProvider, HttpServerOptions>()

/** Where the HTTP server listens unless told: `http.port` / HTTP_PORT, else 8000. */
const httpAddress = { key: 'http', env: 'HTTP_PORT', port: 8000 } as const
const httpListener = { server: 'HTTP', ...httpAddress } as const

export interface HttpServerDeps {
  readonly app: App
  readonly health: HealthRegistry
  readonly metrics: MetricsRegistry
  readonly routes: readonly RouteContribution[]
  readonly log: PinoLogger
}

/**
 * Fastify as a Plinth component: probes, problem details, request scope, metrics, access log,
 * security plugins, OpenAPI docs and the app's routes, built at start; drained at stop.
 *
 * Fastify runs without a logger of its own, so that it sets up nothing per response; `fastify.log`
 * is the component's logger and `request.log` a child of it with the request id, at the route's
 * `logLevel`. Two things differ from Fastify with a logger: route-level `logSerializers` are not
 * applied (the app logger's serializers are), and `reply.elapsedTime` reads 0 unless the route
 * has an onResponse hook; every request's duration is in the access log and in
 * `http_server_request_duration_seconds`.
 *
 * @example
 * const server = httpServer({ listen: false })
 * await using t = await startTestApp(createApp({ name: 'api', components: [server, routes] }))
 * const res = await t.get(server).fastify.inject('/health/ready') // no port opened
 */
export class HttpServer {
  readonly name: string
  readonly #deps: HttpServerDeps
  readonly #options: HttpServerOptions
  #fastify: FastifyInstance | undefined
  #context: RequestContext | undefined
  #docs: DocsOptions | false = false
  #url: string | undefined
  #unsubscribe: (() => void) | undefined

  constructor(deps: HttpServerDeps, options: HttpServerOptions = {}) {
    this.name = options.name ?? 'http-server'
    this.#deps = deps
    this.#options = options
  }

  /** The Fastify instance, once started: `server.fastify.inject({ url: '/health/ready' })`. */
  get fastify(): FastifyInstance {
    if (!this.#fastify) throw httpErrors.create('PLINTH_ERR_HTTP_NOT_STARTED', `the "${this.name}" component has not started; start the app first`)
    return this.#fastify
  }

  /** Where it listens, once listening. */
  get url(): string | undefined {
    return this.#url
  }

  /** Whether responses close their connections because the app is shutting down. */
  get draining(): boolean {
    return this.#context?.draining ?? false
  }

  async start(): Promise<void> {
    const http = await this.#build()
    this.#fastify = http
    if (this.#options.listen === false) return
    await listenOn(this.#deps.app, httpListener, this.#options, async (address) => {
      try {
        await http.listen({ port: address.port, host: address.host })
      } catch (error) {
        await http.close()
        this.#context?.close()
        throw error
      }
    })
    this.#url = urlOf(http.server.address())
    this.#deps.app.announce('http', this.#url)
    if (this.#docs !== false) this.#deps.app.announce('docs', `${this.#url}${this.#docs.path ?? '/docs'}`)
  }

  /**
   * Serves until traffic stops arriving (every response with `Connection: close`), then stops
   * accepting connections, closes idle keep-alive ones, and waits for requests in flight up to
   * the drain timeout; what is still open then is cut, said so in the log, and the stop fails.
   *
   * Why the listener closes last: closing it while clients still send resets the connections
   * the kernel had accepted but Node had not, and closing an idle keep-alive connection races
   * the request its client may be writing on it. Once nothing has arrived for the quiet period
   * (the load balancer has stopped sending), neither can happen. With no drain delay
   * (development), this wait is the drain.
   */
  async stop(): Promise<void> {
    const context = this.#context
    context?.drain()
    this.#unsubscribe?.()
    const http = this.#fastify
    if (!http) return
    const timeout = this.#options.drainTimeout ?? 10_000
    const began = performance.now()
    if (context && this.#url !== undefined) await untilQuiet(context, this.#options.quietPeriod ?? 250, timeout / 2)
    let timer: NodeJS.Timeout | undefined
    const closed = http.close()
    const cut = new Promise<'cut'>((resolve) => (timer = setTimeout(() => resolve('cut'), timeout - (performance.now() - began))))
    const outcome = await Promise.race([closed.then(() => 'closed' as const), cut])
    clearTimeout(timer)
    if (outcome === 'cut') {
      const open = await new Promise<number>((resolve) => http.server.getConnections((_error, count) => resolve(count)))
      this.#deps.log.warn({ connections: open, drainTimeout: timeout }, `requests still running after the ${timeout} ms drain timeout; closing ${open} connection(s)`)
      http.server.closeAllConnections()
      await closed
      context?.close()
      throw httpErrors.create('PLINTH_ERR_HTTP_DRAIN_CUT', `${open} connection(s) with requests still running were closed after the ${timeout} ms drain timeout`)
    }
    context?.close()
  }


  async #build(): Promise<FastifyInstance> {
    const { app, health, metrics, routes, log } = this.#deps
    const options = this.#options
    const appEnv = app.appEnv
    const helmet = options.helmet ?? apiSecurityHeaders
    const headers = await securityHeaders(helmet)
    const requestIdHeader = options.requestIdHeader ?? 'x-request-id'
    const context = new RequestContext({
      container: () => app.container,
      scoped: app.container.usesScope('request'),
      log,
      metrics,
      requestIdHeader,
      correlationHeader: options.correlation === false ? undefined : ((options.correlation === true ? undefined : options.correlation?.header) ?? 'x-correlation-id').toLowerCase(),
      accessLog: (options.accessLog ?? true) !== false,
      accessLevel: typeof options.accessLog === 'string' ? options.accessLog : appEnv === 'development' ? 'debug' : 'info',
      headers: headers?.always,
      secureHeaders: headers?.secure,
    })
    this.#context = context
    const http = createFastify({
      // Node's server with responses that report their own end.
      serverFactory: context.serverFactory,
      ...options.fastify,
      // No logger of Fastify's own: with one, it sets up per-response listeners the request
      // context does without. The context gives each request its logger; fastify.log is set below.
      // Ids, headers, metrics and the access log: Fastify calls its log controller once a request is routed.
      logController: context,
      genReqId: requestIdFrom(requestIdHeader),
      bodyLimit: options.bodyLimit ?? 1_048_576,
      keepAliveTimeout: options.keepAliveTimeout ?? 72_000,
      // During the drain a request on an open connection is still served, with Connection: close.
      return503OnClosing: false,
      ajv: { customOptions: { allErrors: true }, ...options.fastify?.ajv },
      // Bodies are validated without type coercion; query strings and path parameters with it.
      // One response serializer per schema object, shared by the routes that answer with it.
      schemaController: { ...options.fastify?.schemaController, compilersFactory: { buildValidator: strictBodyValidators(), buildSerializer: sharedSerializers(), ...options.fastify?.schemaController?.compilersFactory } },
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    }) as unknown as FastifyInstance
    http.log = log
    this.#unsubscribe = app.events.subscribe((event) => {
      if (event.type === 'shutdown-requested') context.drain()
    })
    http.server.on('connection', (socket: import('node:net').Socket) => {
      metrics.app.activeConnections.inc({ server_type: 'http' })
      socket.once('close', () => metrics.app.activeConnections.dec({ server_type: 'http' }))
    })
    installProblemHandlers(http, { exposeErrors: options.exposeErrors ?? appEnv === 'development' })
    installRedaction(http, app)
    context.install(http)
    requireJsonBodies(http)
    const cors = typeof options.cors === 'function' ? options.cors(app) : (options.cors ?? false)
    const rateLimit = typeof options.rateLimit === 'function' ? options.rateLimit(app) : (options.rateLimit ?? false)
    await registerSecurity(http, { helmet, cors, rateLimit })
    this.#docs = options.docs ?? (appEnv === 'production' ? false : {})
    if (this.#docs !== false) await registerDocs(http, this.#docs, { title: app.name, version: app.version })
    installProbes(http, { app, health, details: options.healthDetails ?? (appEnv === 'production' ? 'never' : 'always') })
    if (options.metrics) {
      const path = typeof options.metrics === 'object' ? (options.metrics.path ?? '/metrics') : '/metrics'
      http.get(path, { config: { rateLimit: false, accessLog: 'debug' }, schema: { hide: true } }, async (request, reply) => {
        const { contentType, body } = await metrics.render(request.headers.accept)
        return reply.type(contentType).header('cache-control', 'no-store').send(body)
      })
    }
    await registerRoutes(http, routes)
    await http.ready()
    return http
  }
}

/** Resolves once nothing has arrived for `quiet` ms, or after `atMost` ms. */
async function untilQuiet(context: RequestContext, quiet: number, atMost: number): Promise<void> {
  const until = performance.now() + atMost
  for (let left = quiet - context.quietFor; left > 0 && performance.now() < until; left = quiet - context.quietFor) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, until - performance.now())))
  }
}

/**
 * The HTTP server as a component: Fastify on HTTP_PORT (default 8000), serving the routes every
 * module contributes through `Routes`, the health probes, /info, /boot and /docs, and draining
 * on shutdown.
 *
 * @example
 * export const app = createApp({
 *   name: 'orders',
 *   modules: [orders],
 *   components: [httpServer({ cors: { origin: ['https://shop.example'] } }), metricsServer()],
 *   shutdown: { drainDelay: 5_000 },
 * })
 */
export function httpServer<const N extends string = 'http-server'>(options: HttpServerOptions & { name?: N } = {}) {
  // The name keeps its literal type, so that createApp's compile-time check of missing providers stays on.
  const provider = component((options.name ?? 'http-server') as N, {
    eager: true,
    deps: { app: Application, health: Health, metrics: Metrics, routes: Routes, log: Logger },
    create: (deps) => new HttpServer(deps, options),
    start: (server) => server.start(),
    stop: (server) => server.stop(),
    // Readiness includes the server itself: up once it listens (or always, when built for inject() only).
    health: (server) => (options.listen === false || server.url !== undefined ? { status: 'up', details: { url: server.url ?? 'inject only' } } : 'down'),
    // The drain has its own deadline; the component's is a little later, so the drain can report.
    stopTimeout: (options.drainTimeout ?? 10_000) + 2_000,
  })
  httpServerOptions.set(provider, options)
  if (options.listen !== false) listensOn(provider, httpListener, options)
  if (!options.metrics) return provider
  const path = typeof options.metrics === 'object' ? (options.metrics.path ?? '/metrics') : '/metrics'
  const where = `GET ${path} on ${options.name ?? 'the HTTP server'}`
  if (options.listen === false) return servesMetrics(provider, where)
  return servesMetrics(provider, where, ({ env, config }) => ({ ...listenAddress({ config: { value: config }, env }, httpAddress, options), path }))
}
