import { provide } from '@plinth/core'
import { HttpProblem, Routes } from '@plinth/http'
import { Jobs, jobsErrors, pollingAnswer } from '@plinth/jobs'
import { generateOutline } from './outline.js'
import { responses } from '../../openapi.js'

const byId = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const

const tags = ['courses']
const escape = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * A jobs error as RFC 9457 problem details: invalid input is 422 with one `errors` entry per
 * field (a JSON Pointer into the body), the others take their catalogue status (404, 409...).
 */
function problemOf(error: unknown): unknown {
  if (!jobsErrors.is(error)) return error
  const issues = (error.details?.issues ?? []) as { path: string; message: string }[]
  return new HttpProblem(error.status ?? 500, {
    type: `urn:plinth:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: jobsErrors.entries[error.code as keyof typeof jobsErrors.entries].title,
    detail: error.message,
    extensions: { code: error.code, ...(issues.length > 0 ? { errors: issues.map((i) => ({ pointer: `#/body/${i.path.split('.').filter(Boolean).map(escape).join('/')}`, detail: i.message })) } : {}) },
  })
}

/**
 * POST /api/v1/courses enqueues generating an outline and answers 202 with the job id, where to
 * poll and which WebSocket topic to follow; GET /api/v1/jobs/:id is the polling fallback (ETag,
 * 304 while nothing changed, Retry-After); DELETE /api/v1/jobs/:id cancels, POST /api/v1/jobs/:id/retry
 * runs a failed or cancelled job again.
 */
export const courseRoutes = provide(Routes, {
  deps: { jobs: Jobs },
  create: ({ jobs }) => ({
    prefix: '/api/v1',
    register: (http) => {
      http.setErrorHandler((error) => {
        throw problemOf(error)
      })
      http.post('/courses', { schema: { tags, response: responses({ 202: 'The job id, its state, polling URL and WebSocket topic' }, [422, 503]), summary: 'Generate a course outline in the background; follow it over WebSocket (job:<id>), GraphQL or polling' } }, async (request, reply) => {
        const status = await jobs.enqueue(generateOutline, request.body as never)
        const poll = `/api/v1/jobs/${encodeURIComponent(status.id)}`
        return reply.code(202).header('location', poll).send({ jobId: status.id, state: status.state, poll, topic: `job:${status.id}` })
      })
      http.get<{ Params: { id: string } }>('/jobs/:id', { schema: { tags, response: responses({ 200: "The job's state, progress and result (304 while unchanged)" }, [404, 503]), params: byId, summary: "A job's state, progress and result; ETag and If-None-Match for cheap polling" } }, async (request, reply) => {
        const answer = pollingAnswer(await jobs.get(request.params.id), request.headers['if-none-match'])
        return reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
      })
      http.delete<{ Params: { id: string } }>('/jobs/:id', { schema: { tags, response: responses({ 200: 'The cancelled job' }, [404, 409, 503]), params: byId, summary: 'Cancel a queued or running job' } }, (request) => jobs.cancel(request.params.id))
      http.post<{ Params: { id: string } }>('/jobs/:id/retry', { schema: { tags, response: responses({ 200: 'The job, queued again' }, [404, 409, 503]), params: byId, summary: 'Run a failed or cancelled job again, from its last checkpoint' } }, (request) => jobs.retry(request.params.id))
    },
  }),
})
