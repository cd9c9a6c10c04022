/** The error catalogue of `@plinth/ws`. Codes are stable and never reused; docs/errors.md lists them. */
import { defineErrors } from '@plinth/core'

/**
 * Every code @plinth/ws raises of its own (two handlers for one message type is core's
 * PLINTH_ERR_DUPLICATE_HANDLER, shared with gRPC).
 *
 * @example
 * if (wsErrors.is(error, 'PLINTH_ERR_WS_INVALID_HANDLER')) console.error(error.hint)
 */
export const wsErrors = defineErrors('@plinth/ws', {
  PLINTH_ERR_WS_INVALID_HANDLER: {
    title: 'Invalid WebSocket handler declaration',
    hint: 'Give wsHandler a non-empty message type of your own; subscribe and unsubscribe are the protocol\'s built-in types.',
  },
})
