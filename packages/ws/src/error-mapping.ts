import { statusOf } from '@plinth/core'
import type { WireError, WireErrorCode } from './protocol.js'

const byStatus: Record<number, WireErrorCode> = {
  400: 'invalid_data',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'invalid_data',
  429: 'rate_limited',
  503: 'unavailable',
  504: 'unavailable',
}

/**
 * The wire error for an error a handler threw. The status comes from core's `statusOf` (a
 * `status`/`statusCode` property, a PlinthError's code, a validation error's `issues`):
 *
 * | status | code |
 * | --- | --- |
 * | 400, 422, other 4xx | `invalid_data` |
 * | 401 | `unauthenticated` |
 * | 403 | `forbidden` |
 * | 404 | `not_found` |
 * | 409 | `conflict` |
 * | 429 | `rate_limited` |
 * | 503, 504 | `unavailable` |
 * | 500 and other 5xx | `internal_error`, with a generic message: the cause is logged, not sent |
 *
 * @example
 * toWireError(Object.assign(new Error('no such room'), { status: 404 })) // { code: 'not_found', message: 'no such room' }
 */
export function toWireError(error: unknown): { error: WireError; status: number } {
  const status = statusOf(error)
  const code = byStatus[status] ?? (status < 500 ? 'invalid_data' : 'internal_error')
  if (code === 'internal_error') return { status, error: { code, message: 'the handler failed; the server logged the cause' } }
  const message = error instanceof Error ? error.message : String(error)
  const issues = (error as { issues?: unknown } | null)?.issues
  return { status, error: { code, message, ...(Array.isArray(issues) ? { details: { issues } } : {}) } }
}
