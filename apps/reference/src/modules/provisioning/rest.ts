import { AuthGuard } from '@plinth/auth'
import { provide } from '@plinth/core'
import { Sagas, cqrsErrors } from '@plinth/cqrs'
import { Routes } from '@plinth/http'
import { AppConfig } from '../../config.js'
import { whileAvailable } from '../../database.js'
import { InvalidInput, ServiceError, Unavailable, issuesOf } from '../../errors.js'
import { responses } from '../../openapi.js'
import { toHttpProblem } from '../../problems.js'
import { ChangeDeviceSettings, ProvisionDevice } from './commands.js'
import { ProvisionedDeviceQuery, ProvisionedDevicesQuery } from './queries.js'

type ById = { Params: { id: string } }
type After = { Querystring: { after?: number } }

const tags = ['provisioning']
const byId = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
const after = { type: 'integer', minimum: 0, description: 'Read-your-writes: the `position` a command returned; the answer waits (up to 5 s) until the read model has it' }
const objectBody = { type: 'object', description: 'Validated by the command, which names each invalid field (422)' }

/** The errors of the command and query buses, as the service's own. */
function serviceError(error: unknown, retryAfter: number): unknown {
  if (cqrsErrors.is(error, 'PLINTH_ERR_COMMAND_INVALID') || cqrsErrors.is(error, 'PLINTH_ERR_QUERY_INVALID')) {
    const issues = (error.details as { issues?: ReadonlyArray<{ path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>; message: string }> }).issues ?? []
    const plain = issues.map((issue) => ({ message: issue.message, path: (issue.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)) }))
    return cqrsErrors.is(error, 'PLINTH_ERR_COMMAND_INVALID') ? new InvalidInput(issuesOf(plain), 'the command', 'nothing was done', 422) : new InvalidInput(issuesOf(plain), 'the query')
  }
  if (cqrsErrors.is(error, 'PLINTH_ERR_EVENTS_CONFLICT')) return new ServiceError(409, error.message, { title: 'The device changed since it was read', extensions: { ...(error.details as object) } })
  if (cqrsErrors.is(error, 'PLINTH_ERR_QUERY_STALE') || cqrsErrors.is(error, 'PLINTH_ERR_EVENTS_UNAVAILABLE')) return new Unavailable(error.message, retryAfter, error)
  return error
}

/**
 * Device provisioning under /api/v1/provisioning: commands through the command bus (their
 * schemas validate the body, 422 naming each field), reads through the query bus (cached,
 * with read-your-writes on `?after=`), and the provisioning saga's state.
 */
export const provisioningRoutes = provide(Routes, {
  deps: { provision: ProvisionDevice, changeSettings: ChangeDeviceSettings, device: ProvisionedDeviceQuery, devices: ProvisionedDevicesQuery, sagas: Sagas, guard: AuthGuard, config: AppConfig },
  create: ({ provision, changeSettings, device, devices, sagas, guard, config }) => ({
    prefix: '/api/v1/provisioning',
    register: (http) => {
      const retryAfter = config.database.retryAfter
      const run = async <T>(work: () => Promise<T>): Promise<T> => {
        try {
          return await whileAvailable(retryAfter, work)
        } catch (error) {
          throw serviceError(error, retryAfter)
        }
      }
      http.setErrorHandler((error, request) => {
        throw toHttpProblem(error, request)
      })

      http.post('/devices', { preValidation: guard.rest('devices:write'), schema: { tags, summary: 'Provision a device: reserve, configure, notify; undone in reverse when a step fails', body: objectBody, response: responses({ 201: 'The device is active: the saga, and the position to read it at' }, [400, 401, 403, 409, 415, 422, 502, 503]) } }, async (request, reply) => {
        const result = await run(() => provision(request.body as never, { correlationId: request.id }))
        if (result.saga.status !== 'completed') {
          throw new ServiceError(502, `device could not be provisioned, and what was done is undone: ${result.saga.error ?? result.saga.status}`, { title: 'Provisioning failed', extensions: { saga: result.saga, position: result.position } })
        }
        return reply.code(201).send(result)
      })
      http.put<ById>('/devices/:id/settings', { preValidation: guard.rest('devices:write'), schema: { tags, summary: "Change a device's settings, given the version they were read at", params: byId, body: objectBody, response: responses({ 200: 'The new version, and the position to read it at' }, [400, 401, 403, 404, 409, 415, 422, 503]) } }, (request) => {
        const body = (request.body ?? {}) as Record<string, unknown>
        return run(() => changeSettings({ ...body, id: request.params.id } as never, { correlationId: request.id }))
      })
      http.get<ById & After>('/devices/:id', { schema: { tags, summary: 'A provisioned device, from the read model', params: byId, querystring: { type: 'object', properties: { after } }, response: responses({ 200: 'The device, with its version' }, [400, 404, 503]) } }, (request) => {
        return run(() => device({ id: request.params.id }, request.query.after === undefined ? {} : { after: request.query.after }))
      })
      http.get<{ Querystring: { limit: number; after?: number } }>('/devices', { schema: { tags, summary: 'Provisioned devices, by id', querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1_000, default: 100 }, after } }, response: responses({ 200: 'The devices' }, [400, 503]) } }, (request) => {
        return run(() => devices({ limit: request.query.limit }, request.query.after === undefined ? {} : { after: request.query.after }))
      })
      http.get<ById>('/sagas/:id', { schema: { tags, summary: 'A provisioning saga: its status and each step', params: byId, response: responses({ 200: 'The saga' }, [404, 503]) } }, async (request) => {
        const state = await run(() => sagas.get(request.params.id))
        if (state === undefined) throw new ServiceError(404, `no saga "${request.params.id}"`)
        return state
      })
    },
  }),
})
