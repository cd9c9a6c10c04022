/** The error catalogue of `@plinth/http`. Codes are stable and never reused; docs/errors.md lists them. */
import { defineErrors } from '@plinth/core'

/**
 * Every code @plinth/http raises, with its title and what to do.
 *
 * @example
 * if (httpErrors.is(error, 'PLINTH_ERR_HTTP_CORS_CREDENTIALS')) console.error(error.hint)
 */
export const httpErrors = defineErrors('@plinth/http', {
  PLINTH_ERR_HTTP_NOT_STARTED: {
    title: 'The HTTP server has not started',
    hint: 'Use the server (its Fastify instance, inject) after app.start() has resolved, or from a component that depends on it and runs in start.',
  },
  PLINTH_ERR_HTTP_CORS_CREDENTIALS: {
    title: 'CORS allows every origin with credentials',
    hint: 'List the origins that may send credentials (cors: { origin: ["https://app.example.com"], credentials: true }), or drop credentials; browsers refuse "*" with credentials, and reflecting any origin lets every site act as the user.',
  },
  PLINTH_ERR_HTTP_DRAIN_CUT: {
    title: 'Requests were cut short at shutdown',
    hint: 'Requests were still running when the drain timeout passed and their connections were closed. Raise httpServer({ drainTimeout }) (and shutdown.timeout) above the longest request, or give long requests their own deadline.',
  },
})
