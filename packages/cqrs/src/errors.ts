/**
 * The error catalogue of @plinth/cqrs. Codes are stable and never reused; docs/errors.md lists them.
 */
import { defineErrors } from '@plinth/core'

export const cqrsErrors = defineErrors('@plinth/cqrs', {
  PLINTH_ERR_EVENTS_CONFLICT: {
    title: 'The stream is not at the expected version',
    hint: 'Another writer appended to the stream first: read it again, decide again, and append with the version you read (or expectedVersion: "any" if order does not matter).',
    status: 409,
  },
  PLINTH_ERR_EVENTS_INVALID: {
    title: 'Invalid events or read options',
    hint: 'Correct the field named in the message: a stream name of 1-200 characters, an event type, data that JSON can carry, a version or position that is a whole number.',
    status: 400,
  },
  PLINTH_ERR_EVENTS_SETUP: {
    title: 'The event store cannot be set up',
    hint: 'Add database() from @plinth/db to the app for the durable store on its database, or set EVENTS_URL to a redis:// URL for the Redis Streams store.',
  },
  PLINTH_ERR_EVENTS_DUPLICATE_ID: {
    title: 'An event with this id was already appended',
    hint: 'Event ids are unique across the store; leave `id` out to have one generated, or treat the duplicate as already done (an idempotent retry).',
    status: 409,
  },
  PLINTH_ERR_EVENTS_UNAVAILABLE: {
    title: 'The event store is unavailable',
    hint: 'The database or Redis server behind the store could not be reached; nothing was appended. Check the server; /health says since when.',
    status: 503,
  },
  PLINTH_ERR_EVENTS_UPCAST: {
    title: 'An event could not be upcast to its current version',
    hint: 'Declare an upcaster for every older version of the event type named (upcast: { 1: (data) => ... }), or fix the upcaster that threw.',
  },
  PLINTH_ERR_EVENTS_SUBSCRIPTION: {
    title: 'A subscription or projection failed',
    hint: 'Its handler threw for the event named; the checkpoint stays before it, so the event is handled again once the handler is fixed. Rebuild a projection with `plinth projections rebuild NAME`.',
  },
  PLINTH_ERR_COMMAND_INVALID: {
    title: 'A command failed its schema',
    hint: 'Correct each field named (path: problem) and send the command again; nothing was done.',
    status: 422,
  },
  PLINTH_ERR_QUERY_INVALID: {
    title: 'A query is declared or asked for wrongly',
    hint: 'Correct the declaration or input named: a ttl above 0 ms, a projection the app runs, input that passes the query\'s schema.',
    status: 400,
  },
  PLINTH_ERR_QUERY_STALE: {
    title: 'The read model has not caught up with a write yet',
    hint: 'The projection the query reads is behind the position asked for; ask again shortly (Retry-After), or raise the timeout. /health shows where each projection stands.',
    status: 503,
  },
  PLINTH_ERR_EVENTS_UNKNOWN_PROJECTION: {
    title: 'No projection of that name',
    hint: 'Use one of the names listed, as declared with projection({ name }).',
    status: 404,
  },
  PLINTH_ERR_SAGA_INVALID: {
    title: 'A saga declaration or start is invalid',
    hint: 'Correct what the message names: a saga needs a name and steps, each with a unique name and exactly one of action or wait; timeouts and retries are numbers of 0 or more.',
    status: 400,
  },
  PLINTH_ERR_SAGA_UNKNOWN: {
    title: 'No saga of that name is declared',
    hint: 'Contribute the saga to SagaDefinitions (or pass it to the runner) before starting or resuming it; a saved saga whose declaration was removed stays where it stopped.',
    status: 404,
  },
  PLINTH_ERR_SAGA_STEP_FAILED: {
    title: 'A saga step failed',
    hint: 'The step failed on every attempt (or timed out); the steps completed before it were compensated in reverse. Its error is the cause.',
  },
  PLINTH_ERR_SAGA_TIMEOUT: {
    title: 'A saga step timed out',
    hint: 'The action, compensation or wait took longer than its timeout; raise the step\'s timeout or make the work faster. An action cut short may still finish: make it idempotent with the idempotency key.',
  },
  PLINTH_ERR_SAGA_NEEDS_ATTENTION: {
    title: 'A saga could not compensate and needs attention',
    hint: 'A compensation failed on every attempt, so the saga stopped with some effects not undone. Undo them by hand (the saga\'s steps say which), then mark it resolved.',
  },
})
