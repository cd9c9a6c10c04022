/**
 * A cached entry as the tiers hold it, and its text form in Redis. The fields have the names
 * they have in Redis, so that a read from Redis parses straight into an entry, without a copy
 * (on the miss path, allocations are what costs). Leaves first: this file imports nothing of
 * the package but the codec type.
 */
import type { Codec } from './codec.js'

export interface Entry {
  /** The decoded value; absent for a negative entry ("not found"). */
  readonly v?: unknown
  /** Until when (ms since the epoch) the value is fresh. */
  readonly e: number
  /** Until when an expired value may still be served when its refresh fails (>= e). */
  readonly g: number
  /** 1: a cached "not found". */
  readonly n?: 1
  /** Full tags (`namespace:tag`). */
  readonly t?: readonly string[] | undefined
}

/**
 * The Redis form: `{"e":expiresAt,"g":graceUntil,"n":1,"t":[...],"v":<JSON>}`, or with a codec
 * `"c":"<codec text>"` in place of `"v"`. `text` is the value's JSON, or its codec's text.
 */
export function encodeEntry(entry: Entry, text: string, coded: boolean): string {
  const head = `{"e":${entry.e},"g":${entry.g}${entry.t ? `,"t":${JSON.stringify(entry.t)}` : ''}`
  if (entry.n) return `${head},"n":1}`
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
  const entry = parsed as Record<string, unknown>
  if (typeof entry.e !== 'number' || typeof entry.g !== 'number') return 'not a cache entry (no expiry)'
  const t = entry.t
  if (t !== undefined && !(Array.isArray(t) && t.every((tag) => typeof tag === 'string'))) return 'not a cache entry (bad tags)'
  if (entry.n === 1) return entry as unknown as Entry
  if (codec) {
    if (typeof entry.c !== 'string') return "not written with this namespace's codec"
    try {
      return { v: codec.decode(entry.c), e: entry.e, g: entry.g, t: t }
    } catch (error) {
      return `refused by the codec (${(error as Error).message})`
    }
  }
  if (!('v' in entry)) return 'not a JSON cache entry'
  return entry as unknown as Entry
}
