import { provide } from '@plinth/core'
import { Routes } from '@plinth/http'
import { jsonSchema } from '../../json-schema.js'
import { responses } from '../../openapi.js'
import { toHttpProblem } from '../../problems.js'
import { conversation } from './components.js'
import { ChildId, HistoryQuery, MessageInput } from './model.js'

const tags = ['conversation']

/** The conversation REST API under /api/v1/conversation. */
export const conversationRoutes = provide(Routes, {
  deps: { conversation },
  create: ({ conversation }) => ({
    prefix: '/api/v1/conversation',
    register: (http) => {
      http.setErrorHandler((error, request) => {
        throw toHttpProblem(error, request)
      })
      // No trailing slash: the route is /api/v1/conversation, not /api/v1/conversation/.
      const send = { tags, summary: "Send a child's message; the companion replies", body: jsonSchema(MessageInput), response: responses({ 200: 'The exchange: the message and its reply' }, [400, 415, 422, 503]) }
      http.post('/', { prefixTrailingSlash: 'no-slash', schema: send }, (request) =>
        conversation.converse(request.body, 'rest'),
      )
      http.get<{ Params: { childId: string } }>(
        '/:childId/history',
        { schema: { tags, summary: "A child's latest exchanges, oldest first", params: { type: 'object', properties: { childId: jsonSchema(ChildId) } }, querystring: jsonSchema(HistoryQuery), response: responses({ 200: 'The exchanges' }, [400, 503]) } },
        (request) => conversation.history(request.params.childId, request.query),
      )
    },
  }),
})
