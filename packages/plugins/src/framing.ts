/**
 * Newline-delimited JSON with a size limit. Node's own IPC channel buffers a message of any
 * size before parsing it, so a plugin could exhaust the host's memory with one long line; this
 * reader refuses a line past the limit before it is kept.
 */

export interface LineReaderOptions {
  readonly maxBytes: number
  readonly onLine: (line: string) => void
  /** Called once when a line exceeds maxBytes; the reader ignores everything after. */
  readonly onOversized: (bytes: number) => void
}

/**
 * Splits a byte stream into lines, refusing any longer than `maxBytes`.
 *
 * @example
 * const read = lineReader({ maxBytes: 1 << 20, onLine: (l) => handle(JSON.parse(l)), onOversized: () => child.kill() })
 * pipe.on('data', read)
 */
export function lineReader(options: LineReaderOptions): (chunk: Buffer) => void {
  let parts: Buffer[] = []
  let pending = 0
  let broken = false
  return (chunk) => {
    if (broken) return
    let start = 0
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl)
      if (pending + piece.length > options.maxBytes) {
        broken = true
        options.onOversized(pending + piece.length)
        return
      }
      const line = parts.length === 0 ? piece.toString('utf8') : Buffer.concat([...parts, piece]).toString('utf8')
      parts = []
      pending = 0
      start = nl + 1
      if (line.length > 0) options.onLine(line)
      if (broken) return
    }
    const rest = chunk.subarray(start)
    if (rest.length === 0) return
    pending += rest.length
    if (pending > options.maxBytes) {
      broken = true
      options.onOversized(pending)
      return
    }
    parts.push(Buffer.from(rest))
  }
}

/**
 * A JSON value rebuilt from plain data only: keys that would reach a prototype (`__proto__`,
 * `constructor`, `prototype`) are dropped, so nothing a plugin sends can pollute the host's
 * objects however the host later merges it. Deeper than `maxDepth` is cut to null.
 *
 * @example
 * plainData(JSON.parse('{"__proto__":{"admin":true},"a":1}')) // { a: 1 }
 */
export function plainData(value: unknown, maxDepth = 32): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' ? null : value
  if (maxDepth <= 0) return null
  if (Array.isArray(value)) return value.map((v) => plainData(v, maxDepth - 1))
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue
    out[key] = plainData((value as Record<string, unknown>)[key], maxDepth - 1)
  }
  return out
}
