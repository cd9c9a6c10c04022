import { pino } from 'pino'
import type { Logger } from './logger-types.js'

const symbols = pino.symbols
type Internals = Record<symbol, unknown>
type Stream = { write(chunk: string): unknown; flushSync?: () => void; [key: symbol]: unknown }

/** The fields of an access line, besides the message; a logger serializing or redacting one of them takes pino's own path. */
const FIELDS = ['reqId', 'method', 'url', 'route', 'statusCode', 'durationMs', 'aborted'] as const

export type AccessLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

/** Characters JSON needs escaped, and lone surrogates, which JSON.stringify escapes. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/** A route template with its JSON form, made once per route rather than once per line. */
export interface QuotedRoute {
  readonly text: string
  readonly json: string
}

/**
 * A route for `AccessLog.write`.
 *
 * @example
 * const orders = quoteRoute('/orders/:id') // { text: '/orders/:id', json: '"/orders/:id"' }
 */
export const quoteRoute = (route: string): QuotedRoute => ({ text: route, json: JSON.stringify(route) })

/** Lines wait for this long at most, or until this many characters wait: one write then carries many. */
const BATCH_MS = 10
const BATCH_BYTES = 16_384

// Durations in milliseconds, as 12.3 (message) and 12.34 (field), from integers: Number#toFixed and
// the shortest-round-trip printing of a double cost more than the rest of the line.
const tenths = (ms: number): string => {
  const n = Math.round(ms * 10)
  return `${Math.trunc(n / 10)}.${n % 10}`
}
const hundredths = (ms: number): string => {
  const n = Math.round(ms * 100)
  const rest = n % 100
  return `${Math.trunc(n / 100)}.${rest < 10 ? '0' : ''}${rest}`
}

/**
 * The access log of a server: one line per request, with the request id, method, URL, route,
 * status and duration. It writes the line pino would write through the same logger (its level
 * format, time, bindings and message key), built from the fixed fields in one template instead
 * of pino's walk over an arbitrary object, and hands lines to the destination in batches (at
 * most 10 ms or 16 KiB apart) when the destination takes them (pino's own file and standard
 * output destinations, its worker transports); other destinations get a write per line.
 * Measured on a plain JSON route, pino's call and its write per line cost half of what Fastify
 * spends on the whole request.
 *
 * A logger whose lines another hook shapes (a mixin, a log formatter, a stream-write or
 * log-method hook, a nested key, a multistream, a serializer or redaction of one of the
 * fields) gets its lines through pino's own call instead, unchanged. `flush()` writes waiting
 * lines at once; it runs at `close()` and when the process exits.
 *
 * @example
 * const access = new AccessLog(log)
 * const orders = quoteRoute('/orders')
 * access.write('info', request.id, 'GET', '/orders?page=2', orders, 200, 1.27, false)
 * await server.close()
 * access.close()
 */
export class AccessLog {
  readonly #logger: Logger
  readonly #internals: Internals
  readonly #stream: Stream | undefined
  readonly #batches: boolean
  // What pino reads of its logger for every line, read once here: looking symbols up along a
  // child logger's prototype chain on every request costs more than the line's own text.
  readonly #levels: Readonly<Record<string, number>>
  readonly #prefixes: Readonly<Record<number, string>>
  readonly #time: () => string
  readonly #end: string
  readonly #messageKey: string
  /** Whether a level is enabled when its number is at least the logger's: pino's default order. */
  readonly #ascending: boolean
  #pending = ''
  #timer: NodeJS.Timeout | undefined
  readonly #flushNow = () => this.flush()

  constructor(logger: Logger) {
    this.#logger = logger
    this.#internals = logger as unknown as Internals
    const internals = this.#internals
    const stream = internals[symbols.streamSym] as Stream | undefined
    const formatters = internals[symbols.formattersSym] as { log?: unknown } | undefined
    const hooks = internals[symbols.hooksSym] as { streamWrite?: unknown; logMethod?: unknown } | undefined
    const serializers = (internals[symbols.serializersSym] ?? {}) as Record<string, unknown>
    const stringifiers = (internals[symbols.stringifiersSym] ?? {}) as Record<string, unknown>
    const compare = internals[(symbols as unknown as Record<string, symbol>).levelCompSym!] as ((current: number, expected: number) => boolean) | undefined
    this.#levels = logger.levels.values
    this.#prefixes = (internals[symbols.lsCacheSym] ?? {}) as Record<number, string>
    this.#time = internals[symbols.timeSym] as () => string
    this.#end = internals[symbols.endSym] as string
    this.#messageKey = (internals[symbols.messageKeySym] as string | undefined) ?? 'msg'
    this.#ascending = compare !== undefined && compare(30, 20) && !compare(20, 30) && compare(30, 30)
    const shaped =
      stream === undefined ||
      typeof this.#time !== 'function' ||
      typeof this.#end !== 'string' ||
      Boolean(internals[symbols.mixinSym]) ||
      Boolean(formatters?.log) ||
      Boolean(hooks?.streamWrite) ||
      Boolean(hooks?.logMethod) ||
      Boolean(internals[symbols.nestedKeySym]) ||
      stream[symbols.needsMetadataGsym] === true ||
      [...FIELDS, this.#messageKey].some((key) => serializers[key] !== undefined || stringifiers[key] !== undefined)
    this.#stream = shaped ? undefined : stream
    this.#batches = !shaped && typeof stream.flushSync === 'function'
    if (this.#batches) process.on('exit', this.#flushNow)
  }

  /** Whether lines at this level are written now; check before gathering a line's fields. */
  enabled(level: AccessLevel): boolean {
    if (!this.#ascending) return this.#logger.isLevelEnabled(level)
    return this.#levels[level]! >= (this.#internals[symbols.levelValSym] as number)
  }

  /**
   * Writes one request's line, if its level is enabled. `statusCode` is what was sent, or would
   * have been when `aborted`. `reqId`, `method` and `route` are written as they are: give an id
   * and a method that need no JSON escaping (the HTTP server's ids, llhttp's method tokens) and a
   * route from `quoteRoute`; the URL is escaped when it has to be.
   */
  write(level: AccessLevel, reqId: string, method: string, url: string, route: QuotedRoute, statusCode: number, durationMs: number, aborted: boolean): void {
    if (!this.enabled(level)) return
    const stream = this.#stream
    if (stream === undefined) {
      const message = `${method} ${url} ${aborted ? 'aborted' : statusCode} ${tenths(durationMs)} ms`
      this.#logger[level]({ reqId, method, url, route: route.text, statusCode, durationMs: Math.round(durationMs * 100) / 100, aborted: aborted || undefined }, message)
      return
    }
    // The message holds the URL too: escaped once, used in both.
    const escaped = NEEDS_ESCAPE.test(url) ? JSON.stringify(url).slice(1, -1) : url
    const line =
      `${this.#prefixes[this.#levels[level]!]!}${this.#time.call(this.#logger)}${this.#internals[symbols.chindingsSym] as string},"reqId":"${reqId}","method":"${method}","url":"${escaped}","route":${route.json}` +
      `,"statusCode":${statusCode},"durationMs":${hundredths(durationMs)}${aborted ? ',"aborted":true' : ''},"${this.#messageKey}":"${method} ${escaped} ${aborted ? 'aborted' : statusCode} ${tenths(durationMs)} ms"${this.#end}`
    if (!this.#batches) {
      stream.write(line)
      return
    }
    this.#pending += line
    if (this.#pending.length >= BATCH_BYTES) this.flush()
    else if (this.#timer === undefined) this.#timer = setTimeout(this.#flushNow, BATCH_MS).unref()
  }

  /** Writes the lines still waiting. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.length === 0) return
    const lines = this.#pending
    this.#pending = ''
    this.#stream?.write(lines)
  }

  /** Flushes and stops watching for exit. */
  close(): void {
    this.flush()
    process.off('exit', this.#flushNow)
  }
}
