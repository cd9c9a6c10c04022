/**
 * The envelope around every payload (ids, timestamp, correlation, headers), how it is written on
 * the wire, and the causal context that publishes inside a handler or request inherit.
 */
import { randomBytes } from 'node:crypto'
import { currentCausation, withCorrelation } from '@plinth/core'
import type { Headers, Message, PublishOptions } from './contract.js'

/** Runs a handler with the message as the cause of whatever it publishes. */
export function runAsCause<R>(message: Message, fn: () => R): R {
  return withCorrelation(message.correlationId, fn, message.id)
}

interface WireEnvelope {
  i: string
  t: number
  c: string
  a?: string
  k?: string
  h?: Headers
  p: unknown
}

// Message ids: 64 random bits per process, then a counter. Unique across instances without a
// random draw per message (randomUUID cost more than the rest of an in-memory publish).
const idPrefix = randomBytes(8).toString('hex')
let idCounter = 0

/** A new message id, e.g. "3f9a1c0b7d2e4a61-1a2b". */
export function nextMessageId(): string {
  return `${idPrefix}-${(idCounter++).toString(36)}`
}

/** A serialised envelope: JSON.stringify runs once, on the first read of `body` (a memory broker that does not copy never reads it). */
class EncodedMessage {
  readonly id: string
  readonly envelope: WireEnvelope
  #body: string | undefined

  constructor(id: string, envelope: WireEnvelope) {
    this.id = id
    this.envelope = envelope
  }

  get body(): string {
    return (this.#body ??= JSON.stringify(this.envelope))
  }
}

/** A new message's envelope, ready for the wire. */
export function encodeEnvelope(payload: unknown, options: PublishOptions | undefined, id: string = nextMessageId()): { readonly id: string; readonly body: string; readonly envelope: object } {
  const context = currentCausation()
  const envelope: WireEnvelope = {
    i: id,
    t: Date.now(),
    c: options?.correlationId ?? context?.correlationId ?? id,
    a: options?.causationId ?? context?.causationId,
    k: options?.key,
    h: options?.headers,
    p: payload,
  }
  return new EncodedMessage(id, envelope)
}

/**
 * A copy of an envelope for an in-process broker, its payload through JSON as a network broker
 * would carry it: the handler gets its own object, and what JSON cannot carry fails or is lost
 * here as it would on Redis or NATS. Only the payload goes through JSON; the envelope's own
 * fields are strings and numbers, copied as they are (this halves the cost of a copy).
 */
export function copyEnvelope(envelope: object): object {
  const { i, t, c, a, k, h, p } = envelope as WireEnvelope
  // Written out field by field: an object rest and spread here cost more than the JSON.
  const copy: WireEnvelope = { i, t, c, a, k, h: h === undefined ? undefined : { ...h }, p: copyAsJson(p) }
  return copy
}

const notPlain = Symbol('not plain JSON')

/**
 * What `JSON.parse(JSON.stringify(value))` gives. Plain JSON values (strings, finite numbers,
 * booleans, null, arrays and plain objects of them) are copied by hand, three times faster than
 * the round trip for a small payload (structuredClone is slower still, and keeps what JSON would
 * not); anything else (a Date, a class, undefined, NaN, a cycle) takes the JSON round trip itself.
 */
function copyAsJson(value: unknown): unknown {
  const copy = copyPlain(value, 0)
  if (copy !== notPlain) return copy
  const json = JSON.stringify(value)
  return json === undefined ? undefined : JSON.parse(json)
}

function copyPlain(value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return value === 0 ? 0 : Number.isFinite(value) ? value : notPlain // -0 as JSON writes it
  // Past this depth, likely a cycle: JSON.stringify says so properly.
  if (typeof value !== 'object' || depth > 32) return notPlain
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      const item = copyPlain(value[i], depth + 1)
      if (item === notPlain) return notPlain
      copy[i] = item
    }
    return copy
  }
  if (Object.getPrototypeOf(value) !== Object.prototype || 'toJSON' in value) return notPlain
  const copy: Record<string, unknown> = {}
  for (const key in value) {
    const item = copyPlain((value as Record<string, unknown>)[key], depth + 1)
    if (item === notPlain) return notPlain
    copy[key] = item
  }
  return copy
}

/** Reads an envelope off the wire (or as handed over in process); throws with the reason when it is not one. */
export function decodeEnvelope(topic: string, body: string | object, attempt: number): Message {
  const raw = (typeof body === 'string' ? JSON.parse(body) : body) as Partial<WireEnvelope> | null
  if (raw === null || typeof raw !== 'object' || typeof raw.i !== 'string' || typeof raw.t !== 'number' || typeof raw.c !== 'string') {
    throw new TypeError('not a message envelope (missing id, timestamp or correlation id)')
  }
  return {
    id: raw.i,
    topic,
    payload: raw.p,
    timestamp: raw.t,
    correlationId: raw.c,
    causationId: raw.a,
    key: raw.k,
    headers: raw.h ?? {},
    attempt,
  }
}

/** The same envelope with headers added (a replay marks itself), id and ids kept. */
export function withHeaders(body: string, headers: Headers): string {
  const raw = JSON.parse(body) as WireEnvelope
  raw.h = { ...raw.h, ...headers }
  return JSON.stringify(raw)
}
