/**
 * What each REST route documents as its responses: the success status it really sends, and
 * every error status as RFC 9457 problem details (application/problem+json), so that /docs and
 * the OpenAPI document tell clients the truth.
 */

/** The problem details every error response carries. */
export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'instance', 'requestId'],
  properties: {
    type: { type: 'string', description: 'A URI naming the kind of problem; `about:blank` when the status says it all' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'What went wrong, and what to do about it' },
    instance: { type: 'string', description: 'The request path' },
    requestId: { type: 'string', description: 'Quote it when reporting a problem' },
    errors: {
      type: 'array',
      description: 'For 400: one entry per invalid field',
      items: { type: 'object', required: ['pointer', 'detail'], properties: { pointer: { type: 'string' }, detail: { type: 'string' } } },
    },
    retryAfter: { type: 'integer', description: 'For 429 and 503: seconds to wait before retrying, as in the Retry-After header' },
  },
  additionalProperties: true,
} as const

const meanings: Record<number, string> = {
  400: 'The request is invalid; `errors` lists each invalid field with a JSON Pointer',
  401: 'No valid access token; the WWW-Authenticate header says how to authenticate',
  403: 'The access token lacks the permission this route needs',
  404: 'No such resource',
  409: 'The resource exists already',
  415: 'The body is not JSON; send it with Content-Type: application/json',
  422: 'The request was understood but refused',
  429: 'Too many requests from this client; retry after Retry-After seconds',
  500: 'The server failed; quote the request id when reporting it',
  502: 'An upstream service failed',
  503: 'The database (or another dependency) is unavailable; retry after Retry-After seconds',
}

/** The statuses every route can answer: a rate limit, and a server failure. */
const always = [429, 500]

/**
 * A route's `response` schema: the success status with its description, and each error status
 * (plus 429 and 500, which any route can answer) as problem details. A success response has no
 * body schema on purpose: Fastify would serialize with it and drop fields it does not list.
 *
 * @example
 * http.post('/devices', { schema: { body, response: responses({ 201: 'The device, with its rules' }, [400, 401, 403, 409, 415, 503]) } }, handler)
 */
export function responses(success: Readonly<Record<number, string>>, errors: readonly number[]): Record<string, unknown> {
  const documented: Record<string, unknown> = {}
  for (const [status, description] of Object.entries(success)) documented[status] = { description }
  for (const status of [...new Set([...errors, ...always])].sort((a, b) => a - b)) {
    documented[String(status)] = { description: meanings[status] ?? 'An error', content: { 'application/problem+json': { schema: problemSchema } } }
  }
  return documented
}
