import { provide } from '@plinth/core'
import { Routes } from '@plinth/http'
import { MessageBus, messagingErrors, type MessageOf } from '@plinth/messaging'
import { NotFound } from '../../errors.js'
import { jsonSchema } from '../../json-schema.js'
import { toHttpProblem } from '../../problems.js'
import { ReadingInput } from '../telemetry/model.js'
import { ReadingEvent } from './components.js'
import { responses } from '../../openapi.js'

const tags = ['telemetry events']
const byId = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }

/**
 * Readings published as events, and the dead-letter queue of the readings that could not be
 * handled, under /api/v1/telemetry.
 */
export const telemetryEventRoutes = provide(Routes, {
  deps: { bus: MessageBus },
  create: ({ bus }) => ({
    prefix: '/api/v1/telemetry',
    register: (http) => {
      http.setErrorHandler((error, request) => {
        if (messagingErrors.is(error, 'PLINTH_ERR_MESSAGING_DEAD_LETTER_NOT_FOUND')) throw toHttpProblem(new NotFound(error.message), request)
        throw toHttpProblem(error, request)
      })
      const dead = bus.deadLetters

      http.post('/events/readings', { schema: { tags, response: responses({ 202: 'The id of the published event' }, [400, 415, 422, 503]), summary: 'Publish a reading as an event; a subscribed handler stores it and raises its findings', body: jsonSchema(ReadingInput) } }, async (request, reply) => {
        const published = await bus.publish(ReadingEvent, request.body as MessageOf<typeof ReadingEvent>, { correlationId: request.id })
        return reply.code(202).send({ id: published.id })
      })
      http.get<{ Querystring: { limit: number } }>(
        '/dead-letters',
        { schema: { tags, response: responses({ 200: 'Dead-lettered reading events' }, [400, 503]), summary: 'Reading events that could not be handled, oldest first', querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1_000, default: 100 } } } } },
        (request) => dead.list(ReadingEvent.name, { limit: request.query.limit }),
      )
      http.get<{ Params: { id: string } }>('/dead-letters/:id', { schema: { tags, response: responses({ 200: 'The dead-lettered event, with its error and attempts' }, [404, 503]), summary: 'One dead-lettered reading event', params: byId } }, (request) => dead.inspect(ReadingEvent.name, request.params.id))
      http.post<{ Params: { id: string } }>('/dead-letters/:id/replay', { schema: { tags, response: responses({ 200: 'The event, published again' }, [404, 503]), summary: 'Publish a dead-lettered reading event again', params: byId } }, async (request) => ({
        replayed: await dead.replay(ReadingEvent.name, request.params.id),
      }))
      http.delete<{ Params: { id: string } }>('/dead-letters/:id', { schema: { tags, response: responses({ 200: 'The event was discarded' }, [404, 503]), summary: 'Discard a dead-lettered reading event', params: byId } }, async (request) => ({
        purged: await dead.purge(ReadingEvent.name, request.params.id),
      }))
    },
  }),
})
