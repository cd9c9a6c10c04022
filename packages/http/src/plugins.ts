import type { FastifyCorsOptions } from '@fastify/cors'
import type { FastifyHelmetOptions } from '@fastify/helmet'
import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpProblem, problemTypes } from './problems.js'

export interface DocsOptions {
  /** Where the Swagger UI is served; the document is at `<path>/json`. Default `/docs`. */
  path?: string
  title?: string
  description?: string
}

/**
 * The security headers of an API (OWASP REST Security Cheat Sheet): no framing, no content
 * loaded on behalf of a response, no MIME sniffing, HTTPS remembered, no referrer. helmet's
 * defaults are written for HTML pages (a long CSP, cross-origin opener and embedder policies,
 * headers for IE and Flash) and triple the size of every JSON response's headers; pass
 * `helmet: {}` to get them. /docs sends its own CSP.
 */
export const apiSecurityHeaders: FastifyHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-origin' },
  originAgentCluster: false,
  referrerPolicy: { policy: 'no-referrer' },
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: { action: 'deny' },
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
}

export interface SecurityOptions {
  readonly helmet: FastifyHelmetOptions | false
  readonly cors: FastifyCorsOptions | false
  readonly rateLimit: RateLimitPluginOptions | false
}

/**
 * Security headers (helmet), CORS and per-client rate limits. They must be registered before
 * the routes they guard: the rate limiter attaches itself to routes as they are added.
 */
export async function registerSecurity(http: FastifyInstance, options: SecurityOptions): Promise<void> {
  if (options.helmet !== false) {
    if (options.helmet.enableCSPNonces) {
      const { default: helmet } = await import('@fastify/helmet')
      await http.register(helmet, { global: true, ...options.helmet })
    } else {
      const headers = await securityHeaders(options.helmet)
      http.addHook('onRequest', (_request, reply, done) => {
        reply.headers(headers)
        done()
      })
    }
  }
  if (options.cors !== false) {
    const { default: cors } = await import('@fastify/cors')
    await http.register(cors, options.cors)
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
          extensions: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        }),
    })
  }
}

/**
 * The headers helmet sends with these options. @fastify/helmet builds helmet's middleware anew
 * on every request, which cost a third of a plain route's throughput here; without CSP nonces
 * the headers never change, so they are computed once, by helmet itself on a scratch server,
 * and set in one hook.
 */
export async function securityHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const [{ default: helmet }, { fastify }] = await Promise.all([import('@fastify/helmet'), import('fastify')])
  const scratch = fastify()
  await scratch.register(helmet, { global: true, ...options })
  scratch.get('/', () => '')
  const response = await scratch.inject('/')
  await scratch.close()
  const own = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive'])
  return Object.fromEntries(Object.entries(response.headers).flatMap(([name, value]) => (own.has(name) || value === undefined ? [] : [[name, String(value)]])))
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
