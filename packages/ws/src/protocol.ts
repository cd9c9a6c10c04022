/**
 * The JSON message protocol spoken on Plinth's WebSocket server.
 *
 * A client sends `{ "type": "chat.send", "id": 1, "data": { ... } }`: `type` names the handler,
 * `id` (optional) correlates the reply, `data` is the handler's input. The server answers a
 * message that has an id with `{ "type": "result", "id": 1, "data": ... }`, or with
 * `{ "type": "error", "id": 1, "error": { "code": "...", "message": "..." } }`; a message that
 * cannot be handled always gets an error back, never silence. Topic messages arrive as
 * `{ "type": "event", "topic": "prices", "data": ... }`.
 *
 * Built-in types: `subscribe` and `unsubscribe` with `data: { "topic": "prices" }`.
 */

/** A message from a client. */
export interface ClientMessage {
  readonly type: string
  readonly id?: string | number
  readonly data?: unknown
}

/** What the server sends. Handlers may also push their own `{ type, data }` messages. */
export type ServerMessage =
  | { readonly type: 'result'; readonly id: string | number; readonly data: unknown }
  | { readonly type: 'error'; readonly id?: string | number; readonly error: WireError }
  | { readonly type: 'event'; readonly topic: string; readonly data: unknown }
  | { readonly type: string; readonly id?: string | number; readonly data?: unknown }

/** An error as the client receives it: a stable code from `wireErrorCodes`, a message, and facts. */
export interface WireError {
  readonly code: WireErrorCode
  readonly message: string
  readonly details?: Record<string, unknown>
}

/**
 * Every error code a client can receive, and what it means. Codes are stable; clients switch
 * on them, not on messages.
 */
export const wireErrorCodes = {
  bad_message: 'The message is not a JSON object with a string "type" (and an optional string or number "id").',
  unknown_type: 'No handler is registered for the message type.',
  invalid_data: 'The message data failed the handler\'s schema; `details.issues` lists each problem.',
  rate_limited: 'Too many messages on this connection; `details.retryAfter` says when to try again, in milliseconds.',
  unauthenticated: 'The handler needs an authenticated connection.',
  forbidden: 'The connection may not do this (for example, subscribe to this topic).',
  not_found: 'The handler did not find what the message refers to.',
  conflict: 'The message conflicts with the current state.',
  unavailable: 'A dependency is unavailable; try again later.',
  shutting_down: 'The server is shutting down; reconnect to another instance.',
  internal_error: 'The handler failed unexpectedly; the server logged the cause.',
} as const

export type WireErrorCode = keyof typeof wireErrorCodes

/** The payload of `subscribe` and `unsubscribe`. */
export interface TopicRequest {
  readonly topic: string
}

const maxTopicLength = 256

/** Parses one text frame into a client message, or says why it is not one. */
export function parseClientMessage(text: string): ClientMessage | WireError {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { code: 'bad_message', message: `the message is not valid JSON: ${(error as Error).message}` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { code: 'bad_message', message: 'the message must be a JSON object like {"type": "...", "data": ...}' }
  }
  const { type, id } = value as { type?: unknown; id?: unknown }
  if (typeof type !== 'string' || type.length === 0) {
    return { code: 'bad_message', message: 'the message needs a non-empty string "type"', ...(validId(id) ? { details: { id } } : {}) }
  }
  if (id !== undefined && !validId(id)) {
    return { code: 'bad_message', message: 'the message "id" must be a string or a finite number' }
  }
  return value as ClientMessage
}

/** The id of a message that failed to parse, when it has a usable one, so the error can carry it. */
export function idOf(error: WireError): string | number | undefined {
  const id = error.details?.id
  return validId(id) ? id : undefined
}

function validId(id: unknown): id is string | number {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

/** Checks the data of `subscribe` and `unsubscribe`. */
export function parseTopicRequest(data: unknown): TopicRequest | WireError {
  const topic = (data as { topic?: unknown } | null | undefined)?.topic
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > maxTopicLength) {
    return { code: 'invalid_data', message: `"data.topic" must be a string of 1 to ${maxTopicLength} characters` }
  }
  return { topic }
}
