/**
 * Times as ISO 8601 strings, as job statuses and events carry them. `toISOString` costs over a
 * microsecond per call (more than the rest of publishing an event), and a busy queue asks for
 * the same millisecond many times over (a batch of adds, the completions of one tick): the last
 * one is kept.
 */
let lastMs = Number.NaN
let lastIso = ''

/** `ms` (since the epoch) as an ISO 8601 string. */
export function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString()
    lastMs = ms
  }
  return lastIso
}

/** Now, as an ISO 8601 string. */
export const isoNow = (): string => isoAt(Date.now())
