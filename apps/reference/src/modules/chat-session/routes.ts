import { randomBytes } from 'node:crypto'
import { Application, Logger, provide, type App } from '@plinth/core'
import { Routes } from '@plinth/http'
import { States, cookieSession } from '@plinth/state'
import { ServiceError, parse } from '../../errors.js'
import { jsonSchema } from '../../json-schema.js'
import { responses } from '../../openapi.js'
import { toHttpProblem } from '../../problems.js'
import { conversation } from '../conversation/components.js'
import { SessionInput, SessionMessage, keptTurns, sessionChild, sessionTurns } from './context.js'

const tags = ['chat session']

/** SESSION_SECRET signs the cookie; without one, a secret of this process's own (sessions then hold on this instance only). */
function sessionSecret(app: App, log: Logger): string {
  const secret = app.env.SESSION_SECRET
  if (secret) return secret
  log.warn('SESSION_SECRET is not set: chat sessions are signed with a secret of this process, unknown to other instances and lost at restart')
  return randomBytes(32).toString('base64url')
}

/**
 * Chat over a cookie session under /api/v1/chat: `POST /session` names the child and starts the
 * session, `POST /messages` sends a message with the session's context, `GET /context` shows
 * what the session keeps, `DELETE /session` ends it.
 */
export const chatSessionRoutes = provide(Routes, {
  deps: { states: States, conversation, app: Application, log: Logger },
  create: ({ states, conversation, app, log }) => ({
    prefix: '/api/v1/chat',
    register: async (http) => {
      http.setErrorHandler((error, request) => {
        throw toHttpProblem(error, request)
      })
      await http.register(cookieSession(states, { secret: sessionSecret(app, log), secure: app.appEnv === 'production' }))

      http.post('/session', { schema: { tags, summary: 'Start a chat session for a child', body: jsonSchema(SessionInput), response: responses({ 201: 'The session, with its cookie' }, [400, 415, 503]) } }, async (request, reply) => {
        const { childId } = parse(SessionInput, request.body, 'the session')
        await states.set(sessionChild, childId)
        await states.set(sessionTurns, [])
        return reply.code(201).send({ childId })
      })
      http.post('/messages', { schema: { tags, summary: "Send a message in the session's conversation", body: jsonSchema(SessionMessage), response: responses({ 200: 'The exchange and the turns kept' }, [400, 401, 415, 422, 503]) } }, async (request) => {
        const { message } = parse(SessionMessage, request.body, 'the message')
        const childId = await states.get(sessionChild)
        if (childId === undefined) throw new ServiceError(401, 'no chat session: start one with POST /api/v1/chat/session')
        const exchange = await conversation.converse({ childId, message }, 'rest')
        const turns = await states.update(sessionTurns, (kept = []) => [...kept, { message, reply: exchange.reply, at: exchange.at }].slice(-keptTurns))
        return { ...exchange, turns: turns?.length ?? 0 }
      })
      http.get('/context', { schema: { tags, summary: 'What the session keeps: the child and the latest turns', response: responses({ 200: 'The child and the latest turns' }, [503]) } }, async () => ({
        childId: (await states.get(sessionChild)) ?? null,
        turns: (await states.get(sessionTurns)) ?? [],
      }))
      http.delete('/session', { schema: { tags, summary: 'End the chat session', response: responses({ 204: 'Ended' }, [503]) } }, async (_request, reply) => {
        await states.endSession()
        return reply.code(204).send()
      })
    },
  }),
})
