import { provide } from '@plinth/core'
import { Routes } from '@plinth/http'
import { pluginErrors } from '@plinth/plugins'
import { pluginHost } from './components.js'
import { responses } from '../../openapi.js'

type ById = { Params: { id: string } }
const tags = ['plugins']
const byId = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
const call = { type: 'object', properties: { id: { type: 'string' }, handler: { type: 'string' } }, required: ['id', 'handler'] }

/**
 * The plugins REST API under /api/v1/plugins: their state and metrics, a call into a plugin's
 * handler, the routes plugins registered, and enable, disable and reload at run time. Plugin errors carry their own HTTP
 * status (403 refused, 404 unknown, 502 the plugin threw, 503 not active, 504 too slow).
 */
export const pluginRoutes = provide(Routes, {
  deps: { host: pluginHost },
  create: ({ host }) => ({
    prefix: '/api/v1/plugins',
    register: (http) => {
      http.get('/', { prefixTrailingSlash: 'no-slash', schema: { tags, response: responses({ 200: 'Every plugin, with its state and metrics' }, [503]), summary: "Every plugin's state and metrics" } }, () => ({ isolation: host.isolation, plugins: host.status() }))
      http.post<{ Params: { id: string; handler: string }; Body: { input?: unknown } }>(
        '/:id/calls/:handler',
        { schema: { tags, response: responses({ 200: "The handler's answer" }, [400, 403, 404, 415, 503]), summary: "Call a plugin's handler with { input }", params: call, body: { type: 'object', properties: { input: {} } } } },
        async (request) => ({ result: await host.call(request.params.id, request.params.handler, request.body.input) }),
      )
      // The routes plugins registered (routes:register), mounted by the host under /plugins/<id>/.
      http.all<{ Params: { id: string; '*': string } }>('/:id/routes/*', { schema: { tags, summary: 'A route a plugin registered', params: byId, hide: true } }, async (request) => {
        const route = host.services.routes.find(request.method, `/plugins/${request.params.id}/${request.params['*']}`)
        if (!route) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `plugin "${request.params.id}" has no ${request.method} route /${request.params['*']}`)
        const query = Object.fromEntries(Object.entries(request.query as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]))
        return route.handle({ method: request.method, path: route.path, query, headers, body: request.body ?? null })
      })
      for (const action of ['enable', 'disable', 'reload'] as const) {
        http.post<ById>(`/:id/${action}`, { schema: { tags, response: responses({ 200: "The plugin's state after the action" }, [404, 503]), summary: `${action[0]!.toUpperCase()}${action.slice(1)} a plugin at run time`, params: byId } }, async (request) => {
          await host[action](request.params.id)
          return host.status().find((s) => s.id === request.params.id)
        })
      }
    },
  }),
})
