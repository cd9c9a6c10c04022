import type { FastifyCorsOptions } from '@fastify/cors'
import type { FastifyHelmetOptions } from '@fastify/helmet'
import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpProblem, problemTypes } from './problems.js'
import { httpErrors } from './errors.js'

export interface DocsOptions {
  /** Where the Swagger UI is served; the document is at `<path>/json`. Default `/docs`. */
  path?: string
  title?: string
  description?: string
}

/**
 * The security headers of a JSON API (OWASP REST Security Cheat Sheet): no content loaded or
 * run on behalf of a response and no framing (`Content-Security-Policy: default-src 'none';
 * frame-ancestors 'none'`), no MIME sniffing, no reads from other origins, and HTTPS
 * remembered, on HTTPS requests only (RFC 6797 forbids it over plain HTTP; behind a TLS proxy,
 * set `trustProxy` so that X-Forwarded-Proto counts). Left out, as they do nothing for JSON in
 * current browsers while every header costs each response a few tenths of a microsecond:
 * X-Frame-Options (superseded by frame-ancestors), Referrer-Policy (it governs what a document
 * sends), and helmet's headers for HTML pages, IE and Flash. `helmet: {}` gives helmet's own
 * (HTML) defaults; `{ ...apiSecurityHeaders, xFrameOptions: { action: 'deny' } }` adds one.
 * /docs sends its own CSP.
 */
export const apiSecurityHeaders: FastifyHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-origin' },
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
}

export interface SecurityOptions {
  readonly helmet: FastifyHelmetOptions | false
  readonly cors: FastifyCorsOptions | false
  readonly rateLimit: RateLimitPluginOptions | false
}

/** Refuses a CORS setting that lets any site send the user's credentials. */
function checkCors(cors: FastifyCorsOptions): void {
  const everyOrigin = cors.origin === '*' || cors.origin === true || (Array.isArray(cors.origin) && cors.origin.includes('*'))
  if (cors.credentials === true && everyOrigin) {
    throw httpErrors.create('PLINTH_ERR_HTTP_CORS_CREDENTIALS', `cors.origin is ${JSON.stringify(cors.origin)} with credentials: true in the HTTP server's options`)
  }
}

/**
 * The methods a CORS preflight allows unless `cors.methods` says otherwise: every method a route
 * can serve (OPTIONS is the preflight itself). @fastify/cors's own default, GET, HEAD and POST,
 * would make a browser refuse the API's PUT, PATCH and DELETE routes. A path that does not serve
 * the method asked for answers the request itself with a 405 problem, which the page can read,
 * instead of a failed preflight it cannot.
 */
export const corsMethods: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

type CorsOrigin = FastifyCorsOptions['origin']

function originMatches(origin: string, allowed: CorsOrigin): boolean {
  if (Array.isArray(allowed)) return allowed.some((one: CorsOrigin) => originMatches(origin, one))
  if (allowed instanceof RegExp) {
    allowed.lastIndex = 0
    return allowed.test(origin)
  }
  return typeof allowed === 'string' ? allowed === origin : allowed === true
}

/**
 * A listed origin (a string, RegExp or list of them) as a function of the request's origin,
 * false for any other. @fastify/cors sends nothing when the origin resolves to false, but for a
 * static list it still answers every preflight with Allow-Methods and Max-Age, only leaving out
 * Allow-Origin; this way an origin that is not listed gets no CORS headers at all. `*`, `true`,
 * `false` and functions are given as they are: they allow every origin or none, or decide
 * themselves.
 */
function listedOnly(origin: CorsOrigin): CorsOrigin {
  if (origin === undefined || typeof origin === 'boolean' || typeof origin === 'function' || origin === '*') return origin
  if (Array.isArray(origin) && origin.includes('*')) return origin
  return (requestOrigin, callback) => callback(null, requestOrigin !== undefined && originMatches(requestOrigin, origin) ? requestOrigin : false)
}

/**
 * CORS, per-client rate limits, and helmet itself when it must run per request (CSP nonces).
 * They must be registered before the routes they guard: the rate limiter attaches itself to
 * routes as they are added. Fixed security headers are set by the request context instead
 * (see securityHeaders).
 */
export async function registerSecurity(http: FastifyInstance, options: SecurityOptions): Promise<void> {
  if (options.helmet !== false && options.helmet.enableCSPNonces) {
    const { default: helmet } = await import('@fastify/helmet')
    await http.register(helmet, { global: true, ...options.helmet })
  }
  if (options.cors !== false) {
    checkCors(options.cors)
    const { default: cors } = await import('@fastify/cors')
    const origin = listedOnly(options.cors.origin)
    await http.register(cors, { ...options.cors, methods: options.cors.methods ?? [...corsMethods], ...(origin === undefined ? {} : { origin }) })
  }
  if (options.rateLimit !== false) {
    const { default: rateLimit } = await import('@fastify/rate-limit')
    await http.register(rateLimit, {
      ...options.rateLimit,
      errorResponseBuilder: (_request: FastifyRequest, context: { statusCode: number; max: number; after: string; ttl: number }) =>
        new HttpProblem(context.statusCode, {
          type: problemTypes.rateLimited,
          title: context.statusCode === 403 ? 'Forbidden' : 'Too Many Requests',
          detail: `more than ${context.max} requests from this client; retry in ${context.after}`,
          // `retryAfter`, in seconds like the Retry-After header beside it: the one name every Plinth 429 and 503 uses.
          extensions: { retryAfter: Math.ceil(context.ttl / 1000) },
        }),
    })
  }
}

/** Fixed security headers: those of every response, and those of HTTPS responses only. */
export interface SecurityHeaders {
  readonly always: readonly (readonly [string, string])[]
  readonly secure: readonly (readonly [string, string])[]
}

/**
 * What helmet sends for `apiSecurityHeaders`, written out: computing it takes a scratch Fastify
 * server with helmet, 80 ms of every start. A test asks helmet and compares, so that a helmet
 * upgrade that changes them fails there.
 */
export const apiSecurityHeaderValues: SecurityHeaders = {
  always: [
    ['content-security-policy', "default-src 'none';frame-ancestors 'none'"],
    ['cross-origin-resource-policy', 'same-origin'],
    ['x-content-type-options', 'nosniff'],
  ],
  secure: [['strict-transport-security', 'max-age=31536000; includeSubDomains']],
}

const computed = new WeakMap<FastifyHelmetOptions, Promise<SecurityHeaders>>([[apiSecurityHeaders, Promise.resolve(apiSecurityHeaderValues)]])

/**
 * The headers helmet sends with these options, computed once by helmet itself on a scratch
 * server (and kept per options object): without CSP nonces they never change, and
 * @fastify/helmet would rebuild its middleware on every request, which cost a third of a plain
 * route's throughput. Strict-Transport-Security goes to `secure`: RFC 6797 (7.2) forbids it
 * over plain HTTP. Undefined when helmet must run per request or is off.
 */
export function securityHeaders(options: FastifyHelmetOptions | false): Promise<SecurityHeaders> | undefined {
  if (options === false || options.enableCSPNonces) return undefined
  let headers = computed.get(options)
  if (headers === undefined) {
    headers = computeSecurityHeaders(options)
    computed.set(options, headers)
    headers.catch(() => computed.delete(options))
  }
  return headers
}

async function computeSecurityHeaders(options: FastifyHelmetOptions): Promise<SecurityHeaders> {
  const [{ default: helmet }, { fastify }] = await Promise.all([import('@fastify/helmet'), import('fastify')])
  const scratch = fastify()
  await scratch.register(helmet, { global: true, ...options })
  scratch.get('/', () => '')
  const response = await scratch.inject('/')
  await scratch.close()
  const own = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive'])
  const always: (readonly [string, string])[] = []
  const secure: (readonly [string, string])[] = []
  for (const [name, value] of Object.entries(response.headers)) {
    if (own.has(name) || value === undefined) continue
    ;(name === 'strict-transport-security' ? secure : always).push([name, String(value)])
  }
  return { always, secure }
}

/** The OpenAPI document, built from route schemas, and the Swagger UI page. */
export async function registerDocs(http: FastifyInstance, options: DocsOptions, info: { title: string; version: string }): Promise<void> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')])
  await http.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title ?? info.title, version: info.version, ...(options.description ? { description: options.description } : {}) },
    },
  })
  await http.register(swaggerUi, { routePrefix: options.path ?? '/docs', staticCSP: true, uiConfig: { deepLinking: true } })
}
