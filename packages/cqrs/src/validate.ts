/**
 * Input checks shared by every backend, so that a bad append fails the same way on each and
 * before anything is written.
 */
import { randomUUID } from 'node:crypto'
import type { AppendOptions, ExpectedVersion, NewEvent } from './contract.js'
import { cqrsErrors } from './errors.js'

// Control characters are refused: they would make a stream name print unreadably in logs and the CLI.
const streamPattern = /^[^\s\p{Cc}][^\p{Cc}]{0,199}$/u

/** An event ready to be written: id given, data and metadata serialised. */
export interface PreparedEvent {
  readonly id: string
  readonly type: string
  readonly data: string
  readonly metadata: string
}

export function checkStream(stream: unknown): asserts stream is string {
  if (typeof stream !== 'string' || !streamPattern.test(stream)) {
    throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `stream ${JSON.stringify(stream)} is not a valid stream name: use 1-200 characters, no control characters, not starting with a space`)
  }
}

function serialise(value: unknown, where: string): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value, (_key, inner: unknown) => {
      if (typeof inner === 'bigint') throw new TypeError('a BigInt')
      if (inner instanceof Map || inner instanceof Set) throw new TypeError(`a ${inner.constructor.name}`)
      return inner
    })
  } catch (error) {
    throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `${where} cannot be stored as JSON: it contains ${error instanceof Error ? error.message : String(error)}; convert it to plain data first`)
  }
  if (text === undefined) throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `${where} is undefined or a function; events carry plain data`)
  return text
}

/** Checks a whole append before any of it is written; every event gets an id. */
export function prepareAppend(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): { events: PreparedEvent[]; expected: ExpectedVersion } {
  checkStream(stream)
  if (!Array.isArray(events) || events.length === 0) throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `append to "${stream}" needs at least one event`)
  const expected = options.expectedVersion ?? 'any'
  if (typeof expected === 'number' ? !(Number.isSafeInteger(expected) && expected >= 0) : !['any', 'no-stream', 'stream-exists'].includes(expected)) {
    throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `expectedVersion ${JSON.stringify(expected)} for "${stream}" must be a whole number from 0, 'no-stream', 'stream-exists' or 'any'`)
  }
  const prepared = events.map((event, index) => {
    const where = `event ${index} of the append to "${stream}"`
    if (event === null || typeof event !== 'object') throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `${where} is not an object with a type and data`)
    if (typeof event.type !== 'string' || event.type.length === 0 || event.type.length > 200) {
      throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `${where} has type ${JSON.stringify(event.type)}; use a name of 1-200 characters such as "device.registered"`)
    }
    if (event.id !== undefined && (typeof event.id !== 'string' || event.id.length === 0 || event.id.length > 200)) {
      throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `${where} has id ${JSON.stringify(event.id)}; leave it out or give 1-200 characters`)
    }
    return { id: event.id ?? randomUUID(), type: event.type, data: serialise(event.data, `the data of ${where}`), metadata: serialise(event.metadata ?? {}, `the metadata of ${where}`) }
  })
  const ids = new Set(prepared.map((event) => event.id))
  if (ids.size !== prepared.length) throw cqrsErrors.create('PLINTH_ERR_EVENTS_DUPLICATE_ID', `the append to "${stream}" carries one event id twice`)
  return { events: prepared, expected }
}

/** Throws the conflict error when `current` does not satisfy `expected`. */
export function checkExpected(stream: string, expected: ExpectedVersion, current: number): void {
  const ok = expected === 'any' || (expected === 'no-stream' ? current === 0 : expected === 'stream-exists' ? current > 0 : current === expected)
  if (!ok) {
    const wanted = expected === 'no-stream' ? 'no stream (version 0)' : expected === 'stream-exists' ? 'an existing stream' : `version ${expected}`
    throw cqrsErrors.create('PLINTH_ERR_EVENTS_CONFLICT', `stream "${stream}" is at version ${current}, but the append expected ${wanted}`, {
      details: { stream, expected, actual: current },
    })
  }
}

export function checkWhole(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `${name} ${JSON.stringify(value)} must be a whole number from ${min}`)
  }
  return value
}

export function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/.test(name)) {
    throw cqrsErrors.create('PLINTH_ERR_EVENTS_INVALID', `${what} name ${JSON.stringify(name)} must be 1-200 letters, digits, _ . : or -`)
  }
}
