import { performance } from 'node:perf_hooks'
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

/** Lines wait for this long at most, or until this many characters wait: one write then carries many. */
const BATCH_MS = 10
const BATCH_BYTES = 16_384

// Durations in milliseconds, as 12.34, from small integers: Number#toFixed and printing a double
// (V8's shortest round trip) cost more than the rest of the line. Past 2^31 hundredths (six
// hours and more: a long-lived WebSocket) they take the double's own path.
const INT_MAX = 2 ** 31 - 1
const hundredths = (ms: number): string => {
  const n = Math.round(ms * 100)
  if (n > INT_MAX) return String(n / 100)
  const hundreds = n | 0
  const whole = (hundreds / 100) | 0
  const rest = hundreds % 100
  // As JavaScript prints the number: 12, 12.5, 12.05.
  if (rest === 0) return `${whole}`
  return rest % 10 === 0 ? `${whole}.${rest / 10}` : `${whole}.${rest < 10 ? '0' : ''}${rest}`
}

/** The text as one flat string rather than a rope of concatenations: a line built from it has fewer pieces to walk when written. */
const flat = (text: string): string => Buffer.from(text, 'utf8').toString('utf8')

/**
 * What of an access line a request's method, route and status fix, made once per combination
 * by `AccessLog.shape` and kept by the caller: a line is then eight pieces rather than thirty.
 */
export class AccessShape {
  readonly method: string
  readonly route: string
  readonly statusCode: number
  /** `","method":"GET","url":"` */
  readonly beforeUrl: string
  /** `","route":"/orders/:id","statusCode":200,"durationMs":` */
  readonly afterUrl: string

  constructor(method: string, route: string, statusCode: number) {
    this.method = method
    this.route = route
    this.statusCode = statusCode
    this.beforeUrl = flat(`","method":${JSON.stringify(method)},"url":"`)
    this.afterUrl = flat(`","route":${JSON.stringify(route)},"statusCode":${statusCode},"durationMs":`)
  }
}

/** The message of an access line: fixed, as Fastify's and pino-http's are, so that the line carries each value once. */
const COMPLETED = 'request completed'
const ABORTED = 'request aborted'

/** What starts a line at one level: its prefix, and the time's leading digits with it. */
interface Head {
  readonly value: number
  /** `{"level":30` */
  readonly prefix: string
  /** The time's millions of milliseconds (a thousand seconds) that `timed` ends with. */
  millions: number
  /** `{"level":30,"time":1764626` */
  timed: string
}

/**
 * The access log of a server: one line per request, with the request id, method, URL, route,
 * status and duration, and the message `request completed` (or `request aborted`, with
 * `aborted: true`), as Fastify and pino-http write it. It writes the line pino would write
 * through the same logger (its level
 * format, time, bindings and message key), built from pieces made once per level, binding set
 * and `AccessShape` (method, route, status) instead of pino's walk over an arbitrary object,
 * and hands lines to the destination in batches (at most 10 ms or 16 KiB apart) when the
 * destination takes them (pino's own file and standard output destinations, its worker
 * transports); other destinations get a write per line. Measured on a plain JSON route, pino's
 * call and its write per line cost half of what Fastify spends on the whole request.
 *
 * A logger whose lines another hook shapes (a mixin, a log formatter, a stream-write or
 * log-method hook, a nested key, a multistream, a serializer or redaction of one of the
 * fields) gets its lines through pino's own call instead, unchanged. `flush()` writes waiting
 * lines at once; it runs at `close()` and when the process exits.
 *
 * @example
 * const access = new AccessLog(log)
 * const orders = access.shape('GET', '/orders', 200) // keep it: one per method, route and status
 * access.write('info', orders, request.id, '/orders?page=2', 1.27, false)
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
  readonly #heads = new Map<AccessLevel, Head>()
  readonly #time: () => string
  /**
   * Whether a line takes its time from its request's own clock reading: under pino's default
   * time (epoch milliseconds), when lines are batched (each batch checks the wall clock).
   */
  readonly #clockTime: boolean
  /** Wall-clock milliseconds at performance.now() 0; re-based when the wall clock is stepped. */
  #origin = performance.timeOrigin
  /** The logger's bindings as pino writes them, and what follows them up to the request id. */
  #bindings = ''
  #afterBindings = ',"reqId":"'
  /** The line's end after the duration: the message and pino's end, for a finished and an aborted request. */
  readonly #tails: readonly [finished: string, aborted: string]
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
    const end = internals[symbols.endSym] as string
    this.#messageKey = (internals[symbols.messageKeySym] as string | undefined) ?? 'msg'
    const key = JSON.stringify(this.#messageKey)
    this.#tails = [flat(`,${key}:"${COMPLETED}"${end}`), flat(`,"aborted":true,${key}:"${ABORTED}"${end}`)]
    this.#ascending = compare !== undefined && compare(30, 20) && !compare(20, 30) && compare(30, 30)
    const shaped =
      stream === undefined ||
      typeof this.#time !== 'function' ||
      typeof end !== 'string' ||
      Boolean(internals[symbols.mixinSym]) ||
      Boolean(formatters?.log) ||
      Boolean(hooks?.streamWrite) ||
      Boolean(hooks?.logMethod) ||
      Boolean(internals[symbols.nestedKeySym]) ||
      stream[symbols.needsMetadataGsym] === true ||
      [...FIELDS, this.#messageKey].some((key) => serializers[key] !== undefined || stringifiers[key] !== undefined)
    this.#stream = shaped ? undefined : stream
    this.#batches = !shaped && typeof stream.flushSync === 'function'
    this.#clockTime = this.#batches && this.#time === pino.stdTimeFunctions.epochTime
    if (this.#batches) process.on('exit', this.#flushNow)
  }

  /** The fixed part of the lines of requests with this method, route (template) and status. */
  shape(method: string, route: string, statusCode: number): AccessShape {
    return new AccessShape(method, route, statusCode)
  }

  /** Whether lines at this level are written now; check before gathering a line's fields. */
  enabled(level: AccessLevel): boolean {
    return this.#enabled(level, this.#head(level))
  }

  #enabled(level: AccessLevel, head: Head): boolean {
    if (!this.#ascending) return this.#logger.isLevelEnabled(level)
    return head.value >= (this.#internals[symbols.levelValSym] as number)
  }

  /**
   * Writes one request's line, if its level is enabled. `reqId` is written as it is: give one
   * that needs no JSON escaping (the HTTP server's ids); the URL is escaped when it has to be.
   * `endedAt`, the `performance.now()` at which the request ended, gives the line its time
   * (under pino's default time format, when batched), sparing a second clock reading.
   */
  write(level: AccessLevel, shape: AccessShape, reqId: string, url: string, durationMs: number, aborted: boolean, endedAt?: number): void {
    const head = this.#head(level)
    if (!this.#enabled(level, head)) return
    const stream = this.#stream
    if (stream === undefined) {
      const { method, route, statusCode } = shape
      this.#logger[level]({ reqId, method, url, route, statusCode, durationMs: Math.round(durationMs * 100) / 100, aborted: aborted || undefined }, aborted ? ABORTED : COMPLETED)
      return
    }
    const escaped = NEEDS_ESCAPE.test(url) ? JSON.stringify(url).slice(1, -1) : url
    const bindings = this.#internals[symbols.chindingsSym] as string
    if (bindings !== this.#bindings) {
      this.#bindings = bindings
      this.#afterBindings = flat(`${bindings},"reqId":"`)
    }
    const line = `${this.#start(head, endedAt)}${this.#afterBindings}${reqId}${shape.beforeUrl}${escaped}${shape.afterUrl}${hundredths(durationMs)}${this.#tails[aborted ? 1 : 0]}`
    if (!this.#batches) {
      stream.write(line)
      return
    }
    this.#pending += line
    if (this.#pending.length >= BATCH_BYTES) this.flush()
    else if (this.#timer === undefined) this.#timer = setTimeout(this.#flushNow, BATCH_MS).unref()
  }

  /** The line up to its bindings: the level and the time. */
  #start(head: Head, endedAt: number | undefined): string {
    if (!this.#clockTime || endedAt === undefined) return `${head.prefix}${this.#time.call(this.#logger)}`
    // Epoch milliseconds as two small integers: printing the one 13-digit number costs more.
    const time = Math.floor(this.#origin + endedAt)
    const millions = Math.floor(time / 1e6)
    if (millions !== head.millions) {
      head.millions = millions
      head.timed = flat(`${head.prefix},"time":${millions}`)
    }
    return `${head.timed}${String(1e6 + (time - millions * 1e6)).slice(1)}`
  }

  #head(level: AccessLevel): Head {
    let head = this.#heads.get(level)
    if (head === undefined) {
      const value = this.#levels[level]!
      head = { value, prefix: this.#prefixes[value]!, millions: -1, timed: '' }
      this.#heads.set(level, head)
    }
    return head
  }

  /** Writes the lines still waiting. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.length === 0) return
    // The monotonic clock does not follow a step of the wall clock (NTP, an operator): follow it here.
    const drift = Date.now() - (this.#origin + performance.now())
    if (drift > 2 || drift < -2) this.#origin += drift
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
