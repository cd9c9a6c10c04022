import { provide } from '@plinth/core'
import { Routes } from '@plinth/http'
import { jsonSchema } from '../../json-schema.js'
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
      http.post('/', { schema: { tags, summary: "Send a child's message; the companion replies", body: jsonSchema(MessageInput) } }, (request) =>
        conversation.converse(request.body, 'rest'),
      )
      http.get<{ Params: { childId: string } }>(
        '/:childId/history',
        { schema: { tags, summary: "A child's latest exchanges, oldest first", params: { type: 'object', properties: { childId: jsonSchema(ChildId) } }, querystring: jsonSchema(HistoryQuery) } },
        (request) => conversation.history(request.params.childId, request.query),
      )
    },
  }),
})
