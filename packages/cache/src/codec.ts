/**
 * How values become text for the Redis tier and how their size is counted for the memory tier.
 * JSON is the default; it must carry a value faithfully, so values it would change (a Date
 * becoming a string, a Map becoming `{}`, `undefined` vanishing, NaN becoming null) are refused
 * at the call, naming where in the value the problem is, instead of coming back different.
 */
import { cacheErrors } from './errors.js'

/**
 * Turns values into text and back, for values JSON cannot carry (Dates, Maps, BigInts, class
 * instances). Declare one per namespace: `cache.namespace('events', { codec })`.
 *
 * @example
 * const dates: Codec<Date> = { encode: (date) => date.toISOString(), decode: (text) => new Date(text) }
 */
export interface Codec<T = unknown> {
  encode(value: T): string
  decode(text: string): T
}

/** A measured value: its text (for Redis) when already made, and its approximate size in bytes. */
export interface Measured {
  readonly text: string | undefined
  readonly size: number
}

/**
 * Walks a value and throws PLINTH_ERR_CACHE_UNSERIALISABLE at the first part JSON would not
 * give back unchanged; returns an estimate of its size in bytes (UTF-16 strings, 8 per number).
 *
 * @example
 * const bytes = assertFaithfulJson({ id: 1, name: 'Ada' }, 'users:1')
 */
export function assertFaithfulJson(value: unknown, where: string): number {
  return walk(value, '$', where, [])
}

function fail(path: string, where: string, what: string): never {
  throw cacheErrors.create('PLINTH_ERR_CACHE_UNSERIALISABLE', `cannot cache "${where}": ${path} is ${what}, which JSON would not give back unchanged`)
}

function walk(value: unknown, path: string, where: string, seen: object[]): number {
  switch (typeof value) {
    case 'string':
      return 2 * value.length + 2
    case 'boolean':
      return 4
    case 'number':
      if (!Number.isFinite(value)) fail(path, where, String(value))
      return 8
    case 'bigint':
      return fail(path, where, 'a BigInt')
    case 'undefined':
      return fail(path, where, 'undefined')
    case 'function':
      return fail(path, where, 'a function')
    case 'symbol':
      return fail(path, where, 'a symbol')
  }
  if (value === null) return 4
  const object = value as object
  if (seen.includes(object)) fail(path, where, 'a circular reference')
  seen.push(object)
  let size = 16
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) fail(`${path}[${i}]`, where, 'a hole in an array')
      size += walk(object[i], `${path}[${i}]`, where, seen)
    }
  } else {
    const proto = Object.getPrototypeOf(object) as unknown
    if (proto !== Object.prototype && proto !== null) {
      const name = (object as { constructor?: { name?: string } }).constructor?.name ?? 'an object with a prototype'
      fail(path, where, `a ${name}`)
    }
    if (Object.getOwnPropertySymbols(object).length > 0) fail(path, where, 'an object with symbol keys')
    for (const key of Object.keys(object)) {
      size += 2 * key.length + walk((object as Record<string, unknown>)[key], `${path}.${key}`, where, seen)
    }
  }
  seen.pop()
  return size
}
