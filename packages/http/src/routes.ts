import { token } from '@plinth/core'
import type { FastifyInstance } from 'fastify'

/** Registers routes (and hooks, decorators, plugins) on the server, as a Fastify plugin body. */
export type RouteRegistrar = (http: FastifyInstance) => void | Promise<void>

/** Routes under a common prefix: `{ prefix: '/orders', register: (http) => { http.get('/:id', ...) } }`. */
export interface RouteGroup {
  readonly prefix?: string
  readonly register: RouteRegistrar
}

export type RouteContribution = RouteRegistrar | RouteGroup

/**
 * The routes of the app: every module contributes its own. Each contribution is registered as
 * its own Fastify plugin (encapsulated: hooks it adds apply to its routes only), after the
 * server's hooks, security plugins and OpenAPI document, so that its schemas show in /docs.
 * Handlers run in the container's request scope.
 *
 * @example
 * export const orderRoutes = provide(Routes, {
 *   deps: { orders: OrderService },
 *   create: ({ orders }) => ({
 *     prefix: '/orders',
 *     register: (http) => {
 *       http.get<{ Params: { id: string } }>('/:id', { schema: { params: idSchema } }, (request) => orders.find(request.params.id))
 *     },
 *   }),
 * })
 */
export const Routes = token('http-routes').many<RouteContribution>()

/** Registers every contribution, each as an encapsulated plugin. */
export async function registerRoutes(http: FastifyInstance, contributions: readonly RouteContribution[]): Promise<void> {
  for (const contribution of contributions) {
    const group: RouteGroup = typeof contribution === 'function' ? { register: contribution } : contribution
    await http.register(async (scope) => group.register(scope), group.prefix ? { prefix: group.prefix } : {})
  }
}
