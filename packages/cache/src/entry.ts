/**
 * A cached entry as the tiers hold it, and its text form in Redis. Leaves first: this file
 * imports nothing of the package but the codec type.
 */
import type { Codec } from './codec.js'

export interface Entry {
  /** The decoded value; undefined for a negative entry ("not found"). */
  readonly value: unknown
  /** Until when (ms since the epoch) the value is fresh. */
  readonly expiresAt: number
  /** Until when an expired value may still be served when its refresh fails (>= expiresAt). */
  readonly graceUntil: number
  /** A cached "not found". */
  readonly negative: boolean
  /** Full tags (`namespace:tag`). */
  readonly tags: readonly string[] | undefined
}

/**
 * The Redis form: `{"e":expiresAt,"g":graceUntil,"n":1,"t":[...],"v":<JSON>}`, or with a codec
 * `"c":"<codec text>"` in place of `"v"`. `text` is the value's JSON, or its codec's text.
 */
export function encodeEntry(entry: Entry, text: string, coded: boolean): string {
  const head = `{"e":${entry.expiresAt},"g":${entry.graceUntil}${entry.tags ? `,"t":${JSON.stringify(entry.tags)}` : ''}`
  if (entry.negative) return `${head},"n":1}`
  return coded ? `${head},"c":${JSON.stringify(text)}}` : `${head},"v":${text}}`
}

/** The entry of a Redis text, or a string saying why the text is not one (a corrupted entry). */
export function decodeEntry(text: string, codec: Codec | undefined): Entry | string {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return `not valid JSON (${(error as Error).message})`
  }
  if (typeof parsed !== 'object' || parsed === null) return 'not a cache entry'
  const { e, g, n, t, v, c } = parsed as Record<string, unknown>
  if (typeof e !== 'number' || typeof g !== 'number') return 'not a cache entry (no expiry)'
  if (t !== undefined && !(Array.isArray(t) && t.every((tag) => typeof tag === 'string'))) return 'not a cache entry (bad tags)'
  const tags = t
  if (n === 1) return { value: undefined, expiresAt: e, graceUntil: g, negative: true, tags }
  if (codec) {
    if (typeof c !== 'string') return 'not written with this namespace\'s codec'
    try {
      return { value: codec.decode(c), expiresAt: e, graceUntil: g, negative: false, tags }
    } catch (error) {
      return `refused by the codec (${(error as Error).message})`
    }
  }
  if (!('v' in (parsed))) return 'not a JSON cache entry'
  return { value: v, expiresAt: e, graceUntil: g, negative: false, tags }
}
