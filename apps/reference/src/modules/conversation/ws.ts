import { provide } from '@plinth/core'
import { WsHandlers, wsHandler } from '@plinth/ws'
import { z } from 'zod'
import { conversation } from './components.js'
import { ChildId, MessageInput } from './model.js'

/**
 * `{ "type": "conversation.send", "id": 1, "data": { "childId": "...", "message": "..." } }`:
 * the result is the exchange, with the reply.
 */
export const conversationSend = provide(WsHandlers, {
  deps: { conversation },
  create: ({ conversation }) => wsHandler('conversation.send', { schema: MessageInput, handle: (data) => conversation.converse(data, 'websocket') }),
})

/** `{ "type": "conversation.history", "id": 2, "data": { "childId": "...", "limit": 20 } }`. */
export const conversationHistory = provide(WsHandlers, {
  deps: { conversation },
  create: ({ conversation }) =>
    wsHandler('conversation.history', {
      schema: z.object({ childId: ChildId, limit: z.number().int().optional() }),
      handle: ({ childId, limit }) => conversation.history(childId, limit === undefined ? {} : { limit }),
    }),
})
