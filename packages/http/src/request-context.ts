import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Container, Logger, MetricsRegistry, Scope } from '@plinth/core'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { accessLogger } from './request-logger.js'

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

/** Fastify's genReqId: the caller's X-Request-Id when it is safe, else a new UUID. */
export function requestIdFrom(header: string): (request: IncomingMessage) => string {
  return (request) => {
    const incoming = request.headers[header]
    const value = Array.isArray(incoming) ? incoming[0] : incoming
    return value !== undefined && safeRequestId.test(value) ? value : randomUUID()
  }
}

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE'])

export interface RequestContextOptions {
  readonly container: () => Container
  /** Open a request scope per request; false when no provider lives in one. Default true. */
  readonly scoped?: boolean
  /** The server's logger; access lines go through an unredacted child of it (see accessLogger). */
  readonly log: Logger
  readonly metrics: MetricsRegistry | undefined
  readonly requestIdHeader: string
  readonly accessLog: boolean
  /** True once the app is shutting down: every response then closes its connection. */
  readonly draining: () => boolean
}

type Observer = { observe(value: number): void }

/**
 * The per-request machinery: the request id echoed back, the request scope around the
 * handler (disposed when the response closes), HTTP metrics, one access-log line with the
 * duration, and `Connection: close` while draining. Everything that ends a request goes
 * through the response's 'close' event, which fires whether it finished or was aborted.
 */
export function installRequestContext(http: FastifyInstance, options: RequestContextOptions): void {
  const { metrics } = options
  const observers = new Map<string, Observer>()
  const observerFor = (method: string, route: string, status: number): Observer => {
    const key = `${method} ${status} ${route}`
    let observer = observers.get(key)
    if (!observer && metrics) {
      observer = metrics.http.requestDuration.labels({ http_request_method: method, http_route: route, http_response_status_code: String(status) })
      observers.set(key, observer)
    }
    return observer!
  }

  http.decorateRequest('scope', undefined)
  const access = accessLogger(options.log)

  http.addHook('onRequest', (request, reply, done) => {
    reply.header(options.requestIdHeader, request.id)
    const method = knownMethods.has(request.method) ? request.method : '_OTHER'
    metrics?.http.activeRequests.inc({ http_request_method: method })
    reply.raw.once('close', () => finish(request, reply, method))
    done()
  })

  // From preHandler on, after body parsing (whose stream events carry no async context), the
  // rest of the chain and the handler run inside the request scope.
  if (options.scoped ?? true) {
    http.addHook('preHandler', (request, _reply, done) => {
      const scope = options.container().createScope('request')
      request.scope = scope
      scope.run(done)
    })
  }

  http.addHook('onSend', (_request, reply, payload, done) => {
    if (options.draining()) reply.header('connection', 'close')
    done(null, payload)
  })

  const finish = (request: FastifyRequest, reply: FastifyReply, method: string) => {
    metrics?.http.activeRequests.dec({ http_request_method: method })
    // Ended, not finished: an injected response has no socket to flush, so it never reads as finished.
    const completed = reply.raw.writableEnded
    // routeOptions is a getter that builds an object: read it once.
    const { url, config } = request.routeOptions
    const route = url ?? ''
    const duration = reply.elapsedTime
    if (metrics && completed) observerFor(method, route, reply.statusCode).observe(duration / 1000)
    const level = config.accessLog ?? 'info'
    if (options.accessLog && level !== false && access.isLevelEnabled(level)) {
      const status = completed ? String(reply.statusCode) : 'aborted'
      access[level](
        { reqId: request.id, method: request.method, url: request.url, route, statusCode: reply.statusCode, durationMs: Math.round(duration * 100) / 100, aborted: !completed || undefined },
        `${request.method} ${request.url} ${status} ${duration.toFixed(1)} ms`,
      )
    }
    const scope = request.scope
    if (scope) scope.dispose().catch((error: unknown) => request.log.error({ err: error }, 'disposing the request scope failed'))
  }
}
