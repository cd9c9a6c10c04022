import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { statusOf } from '@plinth/core'

const byHttpStatus: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  409: status.ALREADY_EXISTS,
  412: status.FAILED_PRECONDITION,
  416: status.OUT_OF_RANGE,
  422: status.INVALID_ARGUMENT,
  429: status.RESOURCE_EXHAUSTED,
  499: status.CANCELLED,
  501: status.UNIMPLEMENTED,
  503: status.UNAVAILABLE,
  504: status.DEADLINE_EXCEEDED,
}

/**
 * The gRPC status for an error a method threw.
 *
 * 1. An error with a numeric `code` from 1 to 16 is already a gRPC status (grpc-js's own
 *    convention, `{ code: status.FAILED_PRECONDITION, details }`): it is used as it is.
 * 2. Otherwise the HTTP status from core's `statusOf` maps as Google's API design guide does:
 *
 * | status | gRPC code |
 * | --- | --- |
 * | 400, 422, validation errors (`issues`), other 4xx | INVALID_ARGUMENT |
 * | 401 | UNAUTHENTICATED |
 * | 403 | PERMISSION_DENIED |
 * | 404 | NOT_FOUND |
 * | 409 | ALREADY_EXISTS |
 * | 412 | FAILED_PRECONDITION |
 * | 416 | OUT_OF_RANGE |
 * | 429 | RESOURCE_EXHAUSTED |
 * | 499 | CANCELLED |
 * | 501 | UNIMPLEMENTED |
 * | 503 (an open circuit, a failing dependency check) | UNAVAILABLE |
 * | 504 (a TimeoutError) | DEADLINE_EXCEEDED |
 * | 500, anything else | INTERNAL, with a generic message: the cause is logged, not sent |
 *
 * @example
 * toGrpcStatus(Object.assign(new Error('no user 7'), { status: 404 })) // { code: NOT_FOUND, details: 'no user 7' }
 */
export function toGrpcStatus(error: unknown): Pick<ServiceError, 'code' | 'details' | 'metadata'> & { internal: boolean } {
  const metadata = new Metadata()
  const own = (error as { code?: unknown } | null)?.code
  if (typeof own === 'number' && Number.isInteger(own) && own >= 1 && own <= 16) {
    const code = own as status
    const details = (error as { details?: unknown }).details
    return { code, details: typeof details === 'string' ? details : messageOf(error), metadata, internal: code === status.INTERNAL || code === status.UNKNOWN }
  }
  const http = statusOf(error)
  const code = byHttpStatus[http] ?? (http < 500 ? status.INVALID_ARGUMENT : status.INTERNAL)
  if (code === status.INTERNAL) return { code, details: 'internal error; the server logged the cause', metadata, internal: true }
  return { code, details: messageOf(error), metadata, internal: false }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
