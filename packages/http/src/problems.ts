import { STATUS_CODES } from 'node:http'
import { statusOf } from '@plinth/core'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** The media type of RFC 9457 problem details. */
export const PROBLEM_JSON = 'application/problem+json'

/** Problem types Plinth itself uses; any other error is `about:blank` with its status's title. */
export const problemTypes = {
  validation: 'urn:plinth:problem:validation-failed',
  rateLimited: 'urn:plinth:problem:rate-limited',
  methodNotAllowed: 'urn:plinth:problem:method-not-allowed',
} as const

/** One invalid field of a request: where (a JSON Pointer into the request) and what is wrong. */
export interface InvalidField {
  /** `#/body/age`, `#/querystring/limit`, `#/params/id`, `#/headers/x-api-key`. */
  readonly pointer: string
  readonly detail: string
}

/** An RFC 9457 problem details object, as sent. */
export interface ProblemDetails {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly instance: string
  readonly requestId: string
  readonly errors?: readonly InvalidField[]
  readonly [extension: string]: unknown
}

export interface HttpProblemInit {
  /** A URI naming the kind of problem. Default `about:blank` (the title is then the status's phrase). */
  type?: string
  title?: string
  detail?: string
  /** Headers to send with the problem (Retry-After, WWW-Authenticate, ...). */
  headers?: Record<string, string>
  /** Extra members of the problem object (RFC 9457 extensions). */
  extensions?: Record<string, unknown>
}

/**
 * An error a handler throws to answer with problem details: the status, and what went wrong in
 * words a client developer can act on.
 *
 * @example
 * http.get('/orders/:id', async (request) => {
 *   const order = await orders.find(request.params.id)
 *   if (!order) throw new HttpProblem(404, { detail: `no order ${request.params.id}; list them at /orders` })
 *   return order
 * })
 */
export class HttpProblem extends Error {
  readonly statusCode: number
  readonly type: string
  readonly title: string
  readonly detail: string
  readonly headers: Record<string, string>
  readonly extensions: Record<string, unknown>

  constructor(status: number, init: HttpProblemInit = {}) {
    const title = init.title ?? STATUS_CODES[status] ?? 'Error'
    super(init.detail ?? title)
    this.name = 'HttpProblem'
    this.statusCode = status
    this.type = init.type ?? 'about:blank'
    this.title = title
    this.detail = init.detail ?? title
    this.headers = init.headers ?? {}
    this.extensions = init.extensions ?? {}
  }
}

/** Turns a Fastify validation error into one entry per invalid field, each with a JSON Pointer. */
export function invalidFields(error: FastifyError): InvalidField[] {
  const context = error.validationContext ?? 'body'
  return (error.validation ?? []).map((issue) => {
    const missing = (issue.params as { missingProperty?: string } | undefined)?.missingProperty
    const path = `${issue.instancePath ?? ''}${missing ? `/${escapePointer(missing)}` : ''}`
    return { pointer: `#/${context}${path}`, detail: issue.message ?? 'is invalid' }
  })
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

export interface ProblemOptions {
  /**
   * Put the message of server errors (5xx) in the response, and the stack of unexpected ones
   * (500: an error with no status of its own); development only.
   */
  exposeErrors: boolean
}

/**
 * The problem details for any error a request ended with, for an error handler of your own
 * that wants the same answers as the server's.
 *
 * @example
 * http.setErrorHandler((error, request, reply) => {
 *   const { problem, headers } = toProblem(error, request, { exposeErrors: false })
 *   return sendProblem(reply, { ...problem, traceId: currentTraceId() }, headers)
 * })
 */
export function toProblem(error: unknown, request: FastifyRequest, options: ProblemOptions): { problem: ProblemDetails; headers: Record<string, string> } {
  const base = { instance: request.url.split('?')[0] ?? request.url, requestId: String(request.id) }
  if (error instanceof HttpProblem) {
    const problem = { ...error.extensions, type: error.type, title: error.title, status: error.statusCode, detail: error.detail, ...base }
    return { problem, headers: error.headers }
  }
  const fastifyError = error as Partial<FastifyError>
  if (fastifyError.validation) {
    const errors = invalidFields(fastifyError as FastifyError)
    const fields = errors.length === 1 ? '1 field is invalid' : `${errors.length} fields are invalid`
    const detail = `${fields}: ${errors.map((e) => `${e.pointer.slice(2)} ${e.detail}`).join('; ')}`
    return { problem: { type: problemTypes.validation, title: 'Request validation failed', status: 400, detail, ...base, errors }, headers: {} }
  }
  // The status every Plinth server agrees on: a status property, a PlinthError's code, a schema error's issues.
  const status = statusOf(error)
  const title = STATUS_CODES[status] ?? 'Error'
  const issues = (error as { issues?: unknown }).issues
  if (status === 400 && Array.isArray(issues)) {
    const errors = issues.map((issue: { path?: readonly (PropertyKey | { key: PropertyKey })[]; message?: string }) => ({
      pointer: `#/${(issue.path ?? []).map((segment) => escapePointer(String(typeof segment === 'object' ? segment.key : segment))).join('/')}`,
      detail: issue.message ?? 'is invalid',
    }))
    return { problem: { type: problemTypes.validation, title: 'Request validation failed', status, detail: errors.map((e) => `${e.pointer.slice(2) || '(root)'} ${e.detail}`).join('; '), ...base, errors }, headers: {} }
  }
  if (status === 413 && fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request.routeOptions.bodyLimit
    const detail = `the body is larger than the ${formatBytes(limit)} this route accepts; send less, or raise the limit (the server's bodyLimit option, or the route's)`
    return { problem: { type: 'about:blank', title, status, detail, ...base, limit }, headers: {} }
  }
  if (status < 500) return { problem: { type: 'about:blank', title, status, detail: fastifyError.message ?? String(error), ...base }, headers: {} }
  const generic = status === 503 || status === 504 ? 'A service this request needs is unavailable or too slow; retry later.' : 'The server failed to handle this request; quote the request id when reporting it.'
  const detail = options.exposeErrors && error instanceof Error ? error.message : generic
  // A stack helps find a fault (500, an error nothing mapped to a status), not an expected
  // operational answer: a 503 with Retry-After or a 504 already says what happened and what to do.
  const stack = options.exposeErrors && status === 500 && error instanceof Error ? { stack: error.stack?.split('\n').map((line) => line.trim()) } : {}
  if (status === 503) {
    // Every 503 tells the client when to come back, as the rate limit's 429 does, under the same member.
    const retryAfter = retryAfterOf(error)
    return { problem: { type: 'about:blank', title, status, detail, ...base, retryAfter, ...stack }, headers: { 'retry-after': String(retryAfter) } }
  }
  return { problem: { type: 'about:blank', title, status, detail, ...base, ...stack }, headers: {} }
}

/** Seconds a 503 asks the client to wait: the error's `retryAfter` (or its details'), else 5. */
function retryAfterOf(error: unknown): number {
  const own = (error as { retryAfter?: unknown; details?: { retryAfter?: unknown } } | undefined)
  const value = Number(own?.retryAfter ?? own?.details?.retryAfter)
  return Number.isInteger(value) && value > 0 ? value : 5
}

/**
 * Sends problem details, bypassing response schemas (they describe successful bodies). A
 * buffer, because Fastify would append `; charset=utf-8` to a string's media type, which
 * application/problem+json does not define.
 *
 * @example
 * return sendProblem(reply, { type: 'about:blank', title: 'Gone', status: 410, detail: 'order 7 was archived', instance: request.url, requestId: request.id })
 */
export function sendProblem(reply: FastifyReply, problem: ProblemDetails, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(problem.status).headers(headers).header('content-type', PROBLEM_JSON).send(Buffer.from(JSON.stringify(problem)))
}

const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * Makes every error, 404 and 405 included, an RFC 9457 problem. Fastify answers a wrong method
 * with 404; here the router is asked whether the path exists for another method, and then the
 * answer is 405 with an Allow header.
 */
export function installProblemHandlers(server: FastifyInstance, options: ProblemOptions): void {
  server.setErrorHandler((error, request, reply) => {
    const { problem, headers } = toProblem(error, request, options)
    if (problem.status >= 500) request.log.error({ err: error }, `request failed: ${error instanceof Error ? error.message : String(error)}`)
    return sendProblem(reply, problem, headers)
  })
  server.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    // OPTIONS is left out: CORS answers preflights on every path, which does not make a path exist.
    const allowed = methods.filter((method) => method !== 'OPTIONS' && method !== request.method && server.findRoute({ method, url: path }) !== null)
    const base = { instance: path, requestId: String(request.id) }
    if (allowed.length > 0) {
      const problem = { type: problemTypes.methodNotAllowed, title: 'Method Not Allowed', status: 405, detail: `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`, ...base }
      return sendProblem(reply, problem, { allow: allowed.join(', ') })
    }
    return sendProblem(reply, { type: 'about:blank', title: 'Not Found', status: 404, detail: `no route for ${request.method} ${path}`, ...base })
  })
}

/** A byte count for people: 64 bytes, 512 KiB, 1 MiB. */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}
