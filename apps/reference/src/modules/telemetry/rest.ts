import { AuthGuard } from '@plinth/auth'
import { provide } from '@plinth/core'
import { Routes } from '@plinth/http'
import { AppConfig } from '../../config.js'
import { jsonSchema } from '../../json-schema.js'
import { responses } from '../../openapi.js'
import { toHttpProblem } from '../../problems.js'
import { telemetry } from './components.js'
import { DeviceInput, ReadingInput, ReadingQuery, RuleInput } from './model.js'

type ById = { Params: { id: string } }

const tags = ['telemetry']
const byId = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
const limit = { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1_000, default: 100 } } }
const ingestion = [
  'A reading with a `timestamp` is identified by its device, metric and timestamp: sent again (a retry), it is counted in `duplicates` and stored once.',
  'A reading without one is stamped with its arrival time and is never a duplicate: the readings of one device and metric in a batch are stamped a millisecond apart, in the batch order,',
  'and one whose moment another reading already holds moves later. Nothing accepted is dropped. A 503 with Retry-After stores nothing: the database is unavailable,',
  'or (rarely) readings of one device and metric arrive faster than they can be stamped apart.',
].join(' ')

/**
 * The telemetry REST API under /api/v1/telemetry. Bodies and query strings are validated by
 * their JSON Schema (generated from the module's zod schemas, and shown at /docs); errors the
 * service throws become problem details through `toHttpProblem`.
 */
export const telemetryRoutes = provide(Routes, {
  deps: { telemetry, config: AppConfig, guard: AuthGuard },
  create: ({ telemetry, config, guard }) => ({
    prefix: '/api/v1/telemetry',
    register: (http) => {
      http.setErrorHandler((error, request) => {
        throw toHttpProblem(error, request)
      })

      // Registering needs devices:write (an operator); reading stays open.
      http.post('/devices', { preValidation: guard.rest('devices:write'), schema: { tags, summary: 'Register a device; it gets the default rules of its kind', body: jsonSchema(DeviceInput), response: responses({ 201: 'The device, with the default rules of its kind' }, [400, 401, 403, 409, 415, 503]) } }, async (request, reply) => {
        return reply.code(201).send(await telemetry.registerDevice(request.body))
      })
      http.get<{ Querystring: { limit: number } }>('/devices', { schema: { tags, summary: 'Registered devices', querystring: limit, response: responses({ 200: 'The devices' }, [400, 503]) } }, (request) => {
        return telemetry.devices(request.query.limit)
      })
      http.get<ById>('/devices/:id', { schema: { tags, summary: 'A device', params: byId, response: responses({ 200: 'The device' }, [404, 503]) } }, (request) => telemetry.device(request.params.id))

      const ruleSchema = { tags, summary: 'Add a diagnostic rule: a threshold, or silence for N seconds', params: byId, body: jsonSchema(RuleInput), response: responses({ 201: 'The rule added' }, [400, 404, 415, 503]) }
      http.post<ById>('/devices/:id/rules', { schema: ruleSchema }, async (request, reply) => {
        return reply.code(201).send(await telemetry.addRule(request.params.id, request.body))
      })
      http.get<ById>('/devices/:id/rules', { schema: { tags, summary: "A device's diagnostic rules", params: byId, response: responses({ 200: 'The rules' }, [404, 503]) } }, (request) => telemetry.rules(request.params.id))

      http.post('/readings', { schema: { tags, summary: 'Ingest one reading', description: ingestion, body: jsonSchema(ReadingInput), response: responses({ 200: 'Stored (or a duplicate), with the findings it raised' }, [400, 404, 415, 503]) } }, (request) => telemetry.ingest(request.body, 'rest'))
      const batch = {
        type: 'object',
        required: ['readings'],
        properties: { readings: { type: 'array', minItems: 1, maxItems: config.telemetry.maxBatch, items: jsonSchema(ReadingInput) } },
      }
      http.post<{ Body: { readings: unknown[] } }>('/readings/batch', { schema: { tags, summary: 'Ingest readings all or nothing, in one transaction', description: ingestion, body: batch, response: responses({ 200: 'Stored and duplicate counts, with the findings raised' }, [400, 404, 415, 503]) } }, (request) => {
        return telemetry.ingestBatch(request.body.readings, 'rest')
      })

      const rangeSchema = { tags, summary: "A device's readings in a time range, newest first", params: byId, querystring: jsonSchema(ReadingQuery), response: responses({ 200: 'The readings' }, [400, 404, 503]) }
      http.get<ById>('/devices/:id/readings', { schema: rangeSchema }, (request) => telemetry.readings(request.params.id, request.query))
      const findingsSchema = { tags, summary: "A device's diagnostic findings, newest first", params: byId, querystring: limit, response: responses({ 200: 'The findings' }, [400, 404, 503]) }
      http.get<ById & { Querystring: { limit: number } }>('/devices/:id/findings', { schema: findingsSchema }, (request) => {
        return telemetry.findings(request.params.id, request.query.limit)
      })
    },
  }),
})
