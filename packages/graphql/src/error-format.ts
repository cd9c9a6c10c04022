import { statusOf } from '@plinth/core'
import { GraphQLError, type GraphQLFormattedError } from 'graphql'

const byStatus: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  422: 'BAD_USER_INPUT',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
  504: 'TIMEOUT',
}

/** Extension codes of errors about the request itself, before any resolver ran. */
export const requestErrorCodes = ['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'DEPTH_LIMIT_EXCEEDED', 'COST_LIMIT_EXCEEDED', 'BAD_REQUEST', 'BAD_USER_INPUT', 'OPERATION_NOT_ALLOWED'] as const

/**
 * Formats an error for the response, with `extensions.code` always set. A code the resolver
 * set on its own GraphQLError is kept; otherwise it comes from core's `statusOf`:
 *
 * | status | code |
 * | --- | --- |
 * | 400, 422, validation errors (`issues`) | BAD_USER_INPUT |
 * | 401 | UNAUTHENTICATED |
 * | 403 | FORBIDDEN |
 * | 404 | NOT_FOUND |
 * | 409 | CONFLICT |
 * | 429 | RATE_LIMITED |
 * | 503 | SERVICE_UNAVAILABLE |
 * | 504 | TIMEOUT |
 * | 500, anything else | INTERNAL_SERVER_ERROR, message replaced unless `expose` (the cause is logged) |
 *
 * @example
 * formatError(new GraphQLError('no user 7', { originalError: Object.assign(new Error('no user 7'), { status: 404 }) }))
 * // { message: 'no user 7', extensions: { code: 'NOT_FOUND' } }
 */
export function formatError(error: GraphQLError, expose = false): { formatted: GraphQLFormattedError; internal: boolean } {
  const json = error.toJSON()
  const own = error.extensions.code
  if (typeof own === 'string') return { formatted: json, internal: own === 'INTERNAL_SERVER_ERROR' }
  const original = error.originalError
  // graphql-js's own errors (a null for a non-null field, ...) have no original error.
  const status = original === undefined ? 500 : statusOf(original)
  const code = byStatus[status] ?? (status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR')
  const internal = code === 'INTERNAL_SERVER_ERROR'
  const message = internal && original !== undefined && !expose ? 'Internal server error' : json.message
  const issues = (original as { issues?: unknown } | undefined)?.issues
  return { formatted: { ...json, message, extensions: { ...json.extensions, code, ...(Array.isArray(issues) && !internal ? { issues } : {}) } }, internal }
}

/** A GraphQLError about the request, with its code. */
export function requestError(message: string, code: (typeof requestErrorCodes)[number]): GraphQLError {
  return new GraphQLError(message, { extensions: { code } })
}

/** The error with an extension code, unless it already has one. */
export function withCode(error: GraphQLError, code: string): GraphQLError {
  if (typeof error.extensions.code === 'string') return error
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  })
}
