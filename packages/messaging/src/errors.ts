/** The error catalogue of @plinth/messaging. */
import { defineErrors } from '@plinth/core'

/**
 * Every error @plinth/messaging raises, with what to do about it.
 *
 * @example
 * import { messagingErrors } from '@plinth/messaging'
 * if (messagingErrors.is(error, 'PLINTH_ERR_MESSAGING_INVALID_MESSAGE')) console.log(error.details)
 */
export const messagingErrors = defineErrors('@plinth/messaging', {
  PLINTH_ERR_MESSAGING_INVALID_TOPIC: {
    title: 'Invalid topic name',
    hint: 'Name topics with letters, digits, "_" and "-" in dot-separated segments (e.g. "telemetry.reading"), at most 200 characters.',
  },
  PLINTH_ERR_MESSAGING_INVALID_MESSAGE: {
    title: 'Message does not match its topic schema',
    hint: 'Fix the fields listed in the details (each with its path) before publishing; the topic declaration names the schema.',
    status: 400,
  },
  PLINTH_ERR_MESSAGING_INVALID_OPTIONS: {
    title: 'Invalid messaging options',
    hint: 'Correct the option named in the message; every duration is in milliseconds and every count a positive whole number.',
  },
  PLINTH_ERR_MESSAGING_UNAVAILABLE: {
    title: 'Message broker unavailable',
    hint: 'Check that the broker at the URL named is running and reachable, or unset MESSAGING_URL/NATS_URL/REDIS_URL to use the in-memory bus; declare the bus optional to start without it.',
    status: 503,
  },
  PLINTH_ERR_MESSAGING_UNSUPPORTED_URL: {
    title: 'Unsupported messaging URL',
    hint: 'Use redis://, rediss://, nats:// or memory:// in MESSAGING_URL, or leave it unset for the in-memory bus.',
  },
  PLINTH_ERR_MESSAGING_STOPPED: {
    title: 'The bus is stopped',
    hint: 'Publish and subscribe between start and stop; a component that uses the bus should depend on the MessageBus token so that it stops first.',
    status: 503,
  },
  PLINTH_ERR_MESSAGING_DEAD_LETTER_NOT_FOUND: {
    title: 'No such dead letter',
    hint: 'List the topic\'s dead letters (`plinth dlq list TOPIC`) and use one of the ids shown.',
    status: 404,
  },
})
