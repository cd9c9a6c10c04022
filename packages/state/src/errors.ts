import { defineErrors } from '@plinth/core'

/**
 * The state package's error catalogue.
 *
 * @example
 * if (stateErrors.is(error, 'PLINTH_ERR_STATE_SESSION_ENDED')) reply.status(401)
 */
export const stateErrors = defineErrors('@plinth/state', {
  PLINTH_ERR_STATE_INVALID_KEY: {
    title: 'Invalid state key',
    hint: 'Name state with 1 to 256 characters, without newlines: state("cart").of<Cart>().',
    status: 400,
  },
  PLINTH_ERR_STATE_INVALID_TTL: {
    title: 'Invalid state duration',
    hint: 'Give a TTL as a positive, finite number of milliseconds, or none for no expiry.',
    status: 400,
  },
  PLINTH_ERR_STATE_UNSERIALISABLE: {
    title: 'State value JSON cannot carry',
    hint: 'Session and app state is stored as JSON: keep to objects, arrays, strings, finite numbers, booleans and null.',
    status: 400,
  },
  PLINTH_ERR_STATE_NO_SCOPE: {
    title: 'No scope for this state',
    hint: 'Read request state while handling a request (HTTP, gRPC, WebSocket message, job), and session state inside a session (the cookie session plugin, or states.inSession(id, fn)).',
  },
  PLINTH_ERR_STATE_SESSION_ENDED: {
    title: 'Session ended',
    hint: 'The session was ended (logged out) or expired while this request ran; start a new one instead of writing to it.',
    status: 401,
  },
  PLINTH_ERR_STATE_CONFLICT: {
    title: 'Too many concurrent updates',
    hint: 'update() retried its compare-and-set many times while others changed the same key; spread the writes over several keys or retry later.',
    status: 409,
  },
  PLINTH_ERR_STATE_INVALID_OPTIONS: {
    title: 'Invalid state options',
    hint: 'The store URL is memory:// or redis:// (rediss://); a session secret has at least 32 characters.',
  },
})
