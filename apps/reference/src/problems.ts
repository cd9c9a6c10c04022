import { HttpProblem } from '@plinth/http'
import { InvalidInput, ServiceError, Unavailable } from './errors.js'

const escape = (key: string | number) => String(key).replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * The RFC 9457 problem a module's error becomes at the REST edge: its status, type and message,
 * a `Retry-After` header for a 503, and for invalid input one `errors` entry per field with a
 * JSON Pointer into the request (the query string of a GET, the body otherwise), the same shape
 * as the problems of the server's own schema validation. Any other error is returned as it is,
 * for the server's problem handler.
 *
 * @example
 * register: (http) => {
 *   http.setErrorHandler((error, request) => {
 *     throw toHttpProblem(error, request)
 *   })
 * }
 */
export function toHttpProblem(error: unknown, request: { readonly method: string }): unknown {
  if (!(error instanceof ServiceError)) return error
  const part = request.method === 'GET' ? 'querystring' : 'body'
  const errors = error instanceof InvalidInput ? { errors: error.issues.map((issue) => ({ pointer: `#/${[part, ...issue.path].map(escape).join('/')}`, detail: issue.message })) } : {}
  return new HttpProblem(error.status, {
    type: error.type,
    ...(error.title === undefined ? {} : { title: error.title }),
    detail: error.message,
    headers: error instanceof Unavailable ? { 'retry-after': String(error.retryAfter) } : {},
    extensions: { ...error.extensions, ...errors },
  })
}
