/**
 * The causal context of the work in progress: the correlation id shared by everything one request
 * or message set off, and the id of the request or message being handled (the cause of what is
 * published now). It lives in the kernel because the servers that start work (HTTP, WebSocket,
 * gRPC) set it and the buses that publish (messaging, the event store) read it, and neither side
 * may depend on the other.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

/** What a publish made inside a handler (or a request) inherits. */
export interface CausalContext {
  readonly correlationId: string
  /** The id of the message or request that is being handled. */
  readonly causationId: string
}

const causal = new AsyncLocalStorage<CausalContext>()

/**
 * Runs `fn` with a correlation id (a request id, say): every message published inside it, and
 * every message those cause, carries it. Plinth's servers and message handlers run their
 * handlers in such a context already.
 *
 * @example
 * await withCorrelation('nightly-import-2026-12-05', () => importReadings(bus))
 */
export function withCorrelation<R>(correlationId: string, fn: () => R, causationId: string = correlationId): R {
  return causal.run({ correlationId, causationId }, fn)
}

/**
 * The correlation and causation ids a publish here would carry, if any.
 *
 * @example
 * const ids = currentCausation() // { correlationId, causationId } inside a handler or a route
 */
export function currentCausation(): CausalContext | undefined {
  return causal.getStore()
}

// A caller's id is kept when it is short and plain, so that it cannot forge log lines or headers.
const safeId = /^[\w.:@/+=-]{1,128}$/

/**
 * The correlation id a caller sent (a header or metadata value), when it is one value, short
 * and plain; else undefined, and the server uses its own id for the request instead.
 *
 * @example
 * const correlationId = callerCorrelation(request.headers['x-correlation-id']) ?? request.id
 */
export function callerCorrelation(value: string | readonly string[] | undefined): string | undefined {
  const first = typeof value === 'string' ? value : value?.[0]
  return first !== undefined && safeId.test(first) ? first : undefined
}
