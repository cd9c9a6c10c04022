import { provide } from '@plinth/core'
import { Routes } from '@plinth/http'
import { plugins } from './components.js'

type ById = { Params: { id: string } }
const tags = ['plugins']
const byId = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
const call = { type: 'object', properties: { id: { type: 'string' }, handler: { type: 'string' } }, required: ['id', 'handler'] }

/**
 * The plugins REST API under /api/v1/plugins: their state and metrics, a call into a plugin's
 * handler, and enable, disable and reload at run time. Plugin errors carry their own HTTP
 * status (403 refused, 404 unknown, 502 the plugin threw, 503 not active, 504 too slow).
 */
export const pluginRoutes = provide(Routes, {
  deps: { host: plugins },
  create: ({ host }) => ({
    prefix: '/api/v1/plugins',
    register: (http) => {
      http.get('/', { schema: { tags, summary: "Every plugin's state and metrics" } }, () => ({ isolation: host.isolation, plugins: host.status() }))
      http.post<{ Params: { id: string; handler: string }; Body: { input?: unknown } }>(
        '/:id/calls/:handler',
        { schema: { tags, summary: "Call a plugin's handler with { input }", params: call, body: { type: 'object', properties: { input: {} } } } },
        async (request) => ({ result: await host.call(request.params.id, request.params.handler, request.body.input) }),
      )
      for (const action of ['enable', 'disable', 'reload'] as const) {
        http.post<ById>(`/:id/${action}`, { schema: { tags, summary: `${action[0]!.toUpperCase()}${action.slice(1)} a plugin at run time`, params: byId } }, async (request) => {
          await host[action](request.params.id)
          return host.status().find((s) => s.id === request.params.id)
        })
      }
    },
  }),
})
