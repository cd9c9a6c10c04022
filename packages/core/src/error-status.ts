import { PlinthError, type PlinthErrorCode } from './errors.js'

/** PlinthError codes that describe something other than a server fault. */
const plinthStatuses: Partial<Record<PlinthErrorCode, number>> = {
  PLINTH_ERR_INVALID_OPTION: 400,
  PLINTH_ERR_CIRCUIT_OPEN: 503,
  PLINTH_ERR_HEALTH_CHECK_TIMEOUT: 503,
  PLINTH_ERR_DB_UNAVAILABLE: 503,
  PLINTH_ERR_DB_CONNECT_FAILED: 503,
}

/**
 * The HTTP status that best describes an error, as the lingua franca of Plinth's servers: REST
 * answers with it, and the WebSocket, gRPC and GraphQL servers map it to their own codes
 * (404 becomes gRPC NOT_FOUND, GraphQL `NOT_FOUND`, WebSocket `not_found`). In order:
 *
 * 1. a numeric `status` or `statusCode` property from 400 to 599 (http-errors, Fastify's
 *    errors, or `Object.assign(new Error('no such order'), { status: 404 })`);
 * 2. a PlinthError: 400 for an invalid option, 503 for an open circuit, a timed-out
 *    dependency check or an unavailable database, 500 otherwise;
 * 3. a validation error, recognised by its `issues` array (zod, valibot, Standard Schema): 400;
 * 4. a `TimeoutError` (AbortSignal.timeout): 504;
 * 5. anything else: 500.
 *
 * @example
 * statusOf(Object.assign(new Error('no such order'), { status: 404 })) // 404
 * statusOf(new PlinthError('PLINTH_ERR_CIRCUIT_OPEN', 'db is failing')) // 503
 * statusOf(new Error('boom')) // 500
 */
export function statusOf(error: unknown): number {
  if (error === null || typeof error !== 'object') return 500
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown }
  for (const candidate of [status, statusCode]) {
    if (typeof candidate === 'number' && Number.isInteger(candidate) && candidate >= 400 && candidate <= 599) return candidate
  }
  if (error instanceof PlinthError) return plinthStatuses[error.code] ?? 500
  if (Array.isArray((error as { issues?: unknown }).issues)) return 400
  if ((error as { name?: unknown }).name === 'TimeoutError') return 504
  return 500
}
