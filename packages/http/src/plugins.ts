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
    const { default: helmet } = await import('@fastify/helmet')
    await http.register(helmet, { global: true, ...options.helmet })
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
