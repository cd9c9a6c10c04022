import { PlinthError } from '../errors.js'

/**
 * The HTTP status that best describes an error, as the lingua franca of Plinth's servers: REST
 * answers with it, and the WebSocket, gRPC and GraphQL servers map it to their own codes
 * (404 becomes gRPC NOT_FOUND, GraphQL `NOT_FOUND`, WebSocket `not_found`). In order:
 *
 * 1. a numeric `status` or `statusCode` property from 400 to 599 (http-errors, Fastify's
 *    errors, `Object.assign(new Error('no such order'), { status: 404 })`, or a PlinthError
 *    whose catalogue entry gives a status: 400 for an invalid option, 503 for an open circuit);
 * 2. any other PlinthError: 500;
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
  if (error instanceof PlinthError) return 500
  if (Array.isArray((error as { issues?: unknown }).issues)) return 400
  if ((error as { name?: unknown }).name === 'TimeoutError') return 504
  return 500
}
