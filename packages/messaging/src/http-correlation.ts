/**
 * HTTP requests as causes: a Fastify plugin that runs each request's handler with its
 * correlation and causation ids, so that what the handler publishes carries them. Typed loosely
 * (as @plinth/state's session plugin is) so that the bus does not depend on the HTTP server.
 */
import { callerCorrelation, withCorrelation } from '@plinth/core'

interface CorrelatedRequest {
  readonly id: string | number
  readonly headers: Record<string, string | string[] | undefined>
}
interface HookHost {
  addHook(name: 'preValidation', hook: (request: CorrelatedRequest, reply: unknown, next: () => void) => void): unknown
}

/** A Fastify plugin, typed loosely so that it registers on any Fastify instance. */
export type CorrelationPlugin = ((instance: any, options: unknown, done: (error?: Error) => void) => void) & Record<symbol, unknown>

/**
 * Makes each HTTP request the cause of the messages its handler publishes: their correlation id
 * is the caller's correlation header (`x-correlation-id` by default) when it is present and
 * plain, else the request id; their causation id is the request id. A Plinth HTTP server does
 * this for every route already (its `correlation` option); register this plugin on a Fastify
 * instance of your own, or where the server's correlation is turned off, where the routes are.
 *
 * @example
 * register: async (http) => {
 *   await http.register(correlateRequests())
 *   http.post('/readings', (request) => bus.publish(Reading, request.body as Reading))
 * }
 */
export function correlateRequests(options: { header?: string } = {}): CorrelationPlugin {
  const header = (options.header ?? 'x-correlation-id').toLowerCase()
  const plugin = ((http: HookHost, _options: unknown, done: (error?: Error) => void) => {
    // preValidation, as @plinth/http opens its request scope: from there on, the rest of the
    // chain and the handler run in the async context (body parsing's stream events carry none).
    http.addHook('preValidation', (request, _reply, next) => {
      const requestId = String(request.id)
      withCorrelation(callerCorrelation(request.headers[header]) ?? requestId, next, requestId)
    })
    done()
  }) as CorrelationPlugin
  // As fastify-plugin does: the hook applies to the routes of the context that registers it.
  plugin[Symbol.for('skip-override')] = true
  plugin[Symbol.for('fastify.display-name')] = 'plinth-message-correlation'
  return plugin
}
