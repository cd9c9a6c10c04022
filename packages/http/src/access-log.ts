import { writeSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { pino } from 'pino'
import type { Logger } from '@plinth/core'

const symbols = pino.symbols
/** The logger's level and bindings: what of it the access log follows while it writes. */
const levelValSym = symbols.levelValSym
const chindingsSym = symbols.chindingsSym
type Internals = Record<symbol, unknown>
type Stream = { write(chunk: string): unknown; flushSync?: () => void; [key: symbol]: unknown }

/** The fields of an access line, besides the message; a logger serializing or redacting one of them takes pino's own path. */
const FIELDS = ['reqId', 'method', 'url', 'route', 'statusCode', 'durationMs', 'aborted'] as const

export type AccessLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

/** Lines wait for this long at most, or until this many characters wait: one write then carries many. */
const BATCH_MS = 10
const BATCH_BYTES = 16_384

// Durations in milliseconds, as 12.34, from small integers: Number#toFixed and printing a double
// (V8's shortest round trip) cost more than the rest of the line. Past 2^31 hundredths (six
// hours and more: a long-lived WebSocket) they take the double's own path.
const INT_MAX = 2 ** 31 - 1
/** A duration of `n` hundredths of a millisecond as JavaScript prints n / 100: 12, 12.5, 12.05. */
const hundredths = (n: number): string => {
  if (n > INT_MAX) return String(n / 100)
  const whole = (n / 100) | 0
  const rest = n % 100
  if (rest === 0) return `${whole}`
  return rest % 10 === 0 ? `${whole}.${rest / 10}` : `${whole}.${rest < 10 ? '0' : ''}${rest}`
}

/** Lines of requests shorter than this many hundredths of a millisecond (10.24 ms) end in a string made once per duration. */
const CACHED_ENDS = 1024

/** Anything but printable ASCII without a quote or backslash: text without it goes into a line as it is, one byte per character. */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/
const plain = (text: string): boolean => !NOT_PLAIN.test(text)

/** Text as it goes between a JSON string's quotes: JSON.stringify escapes quotes, backslashes, control characters and lone surrogates, as pino does. */
const escaped = (text: string): string => JSON.stringify(text).slice(1, -1)

/** The text as one flat string rather than a rope of concatenations: a line built from it has fewer pieces to walk when written. */
const flat = (text: string): string => Buffer.from(text, 'utf8').toString('utf8')

// eslint-disable-next-line no-control-regex -- every character outside ASCII
const WIDE = /[^\u0000-\u007f]/
const isAscii = (text: string): boolean => !WIDE.test(text)

/** On a shape: the access log that made it, and the ends of its finished lines by duration in hundredths. */
const kOwner = Symbol('plinth.accessLog')
const kEnds = Symbol('plinth.accessEnds')
const kPlainUrl = Symbol('plinth.plainUrl')

/**
 * What of an access line a request's method, route and status fix, made once per combination
 * by `AccessLog.shape` and kept by the caller: a line is then five pieces rather than thirty.
 *
 * @example
 * const shape = access.shape('GET', '/orders/:id', 200) // once per method, route and status
 * access.write('info', shape, request.id, request.url, 1.7, false)
 */
export class AccessShape {
  readonly method: string
  readonly route: string
  readonly statusCode: number
  /** `","method":"GET","url":"` */
  readonly beforeUrl: string
  /** `","route":"/orders/:id","statusCode":200,"durationMs":` */
  readonly afterUrl: string
  /** Whether the two are ASCII. */
  readonly ascii: boolean;
  [kOwner]: AccessLog | undefined = undefined;
  [kEnds]: (string | undefined)[] = [];
  /** The last URL of this shape found plain. */
  [kPlainUrl] = ''

  constructor(method: string, route: string, statusCode: number) {
    this.method = method
    this.route = route
    this.statusCode = statusCode
    this.beforeUrl = flat(`","method":${JSON.stringify(method)},"url":"`)
    this.afterUrl = flat(`","route":${JSON.stringify(route)},"statusCode":${statusCode},"durationMs":`)
    this.ascii = isAscii(this.beforeUrl) && isAscii(this.afterUrl)
  }
}

/**
 * What of a synchronous SonicBoom (pino's file and standard output destination) tells whether
 * it is idle: then a write to its file descriptor lands where its own would, in order, without
 * the two passes over the text SonicBoom makes to count its UTF-8 bytes. Read, never written.
 */
interface SonicBoomState {
  readonly fd?: unknown
  readonly sync?: unknown
  readonly destroyed?: unknown
  readonly _writing?: unknown
  readonly _len?: unknown
  readonly _fsync?: unknown
  readonly _reopening?: unknown
}

/** The stream's file descriptor, when it is an idle synchronous SonicBoom; -1 otherwise (or when its fields are not the ones known). */
function idleDescriptor(stream: SonicBoomState): number {
  if (stream.sync !== true || stream._writing !== false || stream._len !== 0 || stream._fsync !== false || stream.destroyed !== false || stream._reopening !== false) return -1
  return typeof stream.fd === 'number' ? stream.fd : -1
}

/** The message of an access line: fixed, as Fastify's and pino-http's are, so that the line carries each value once. */
const COMPLETED = 'request completed'
const ABORTED = 'request aborted'

/** What starts a line at one level, and, for the current millisecond, whether it is written and its start. */
interface Head {
  readonly value: number
  /** `{"level":30` */
  readonly prefix: string
  readonly asciiPrefix: boolean
  /** The time's millions of milliseconds (a thousand seconds) that `timed` ends with. */
  millions: number
  /** `{"level":30,"time":1764626` */
  timed: string
  /** The millisecond (`AccessLog`'s generation) `enabled` and `start` are for; -1 for none. */
  generation: number
  enabled: boolean
  /** `{"level":30,"time":1764626123456,"pid":7,"hostname":"api-1","reqId":"` */
  start: string
  /** Whether the line's start and its message are ASCII. */
  ascii: boolean
}

/**
 * The access log of a server: one line per request, with the request id, method, URL, route,
 * status and duration, and the message `request completed` (or `request aborted`, with
 * `aborted: true`), as Fastify and pino-http write it. It writes the line pino would write
 * through the same logger (its level format, time, bindings and message key), in five pieces:
 * the start, made once per level and millisecond; the request id; the shape's (method, route,
 * status) text; the URL; the end, made once per shape and duration under 10 ms. It hands lines
 * to the destination in batches (at most 10 ms or 16 KiB apart) when the destination takes
 * them (pino's own file and standard output destinations, its worker transports); other
 * destinations get a write per line. A batch of ASCII lines for an idle synchronous SonicBoom
 * (`pino.destination({ sync: true })`) goes to its file descriptor as Latin-1, a copy; any
 * other goes through the stream's write. Measured per line of a plain JSON route, pino's call
 * and write cost 22,000 instructions, a third of Fastify's whole request; this, 2,400.
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
  #lastLevel: AccessLevel | undefined
  #lastHead: Head | undefined
  /** The epoch millisecond of request ends the heads were last made for, and a count of such milliseconds. */
  #ms = -1
  #generation = 0
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
  /** Whether a waiting line has a character outside ASCII. */
  #wide = false
  /** Whether the lines' ends (message key, message, pino's end) and the logger's bindings are ASCII. */
  readonly #asciiTails: boolean
  #asciiBindings = true
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
    this.#asciiTails = isAscii(this.#tails[1])
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
    return head.value >= (this.#internals[levelValSym] as number)
  }

  /**
   * Writes one request's line, if its level is enabled; the request id and URL are escaped when
   * JSON needs it. `endedAt`, the `performance.now()` at which the request ended, gives the line
   * its time (under pino's default time format, when batched), sparing a second clock reading.
   *
   * Batched lines with such a time read the logger's level and bindings once per millisecond
   * of request ends, not per line: a logger's properties sit on its root, which pino keeps as a
   * dictionary, and looking them up cost more than the rest of the line. A level or bindings
   * set while requests end applies from the next millisecond.
   */
  write(level: AccessLevel, shape: AccessShape, reqId: string, url: string, durationMs: number, aborted: boolean, endedAt?: number): void {
    const head = this.#head(level)
    let start: string
    let ascii: boolean
    if (this.#clockTime && endedAt !== undefined) {
      const time = Math.floor(this.#origin + endedAt)
      if (time !== this.#ms) this.#tick(time)
      if (head.generation !== this.#generation) this.#refresh(level, head)
      if (!head.enabled) return
      start = head.start
      ascii = head.ascii
    } else {
      if (!this.#enabled(level, head)) return
      if (this.#stream === undefined) return this.#writeThroughPino(level, shape, reqId, url, durationMs, aborted)
      this.#rebind()
      const time = this.#time.call(this.#logger)
      start = `${head.prefix}${time}${this.#afterBindings}`
      ascii = this.#asciiTails && this.#asciiBindings && head.asciiPrefix && isAscii(time)
    }
    if (!plain(reqId)) {
      reqId = escaped(reqId)
      this.#wide = true
    }
    // A URL like the last of its shape (a route without parameters, a repeated poll) is known plain.
    if (url !== shape[kPlainUrl]) {
      if (plain(url)) shape[kPlainUrl] = url
      else {
        url = escaped(url)
        this.#wide = true
      }
    }
    if (!(ascii && shape.ascii)) this.#wide = true
    const line = `${start}${reqId}${shape.beforeUrl}${url}${this.#end(shape, Math.round(durationMs * 100), aborted)}`
    if (!this.#batches) {
      this.#stream!.write(line)
      return
    }
    this.#pending += line
    if (this.#pending.length >= BATCH_BYTES) this.flush()
    else if (this.#timer === undefined) this.#timer = setTimeout(this.#flushNow, BATCH_MS).unref()
  }

  #writeThroughPino(level: AccessLevel, shape: AccessShape, reqId: string, url: string, durationMs: number, aborted: boolean): void {
    const { method, route, statusCode } = shape
    this.#logger[level]({ reqId, method, url, route, statusCode, durationMs: Math.round(durationMs * 100) / 100, aborted: aborted || undefined }, aborted ? ABORTED : COMPLETED)
  }

  /** A new millisecond of request ends: the logger's level and bindings are read again, and every level's start is remade on use. */
  #tick(time: number): void {
    this.#ms = time
    this.#generation++
    this.#rebind()
  }

  /** Follows the logger's bindings. */
  #rebind(): void {
    const bindings = this.#internals[chindingsSym] as string
    if (bindings === this.#bindings) return
    this.#bindings = bindings
    this.#afterBindings = flat(`${bindings},"reqId":"`)
    this.#asciiBindings = isAscii(bindings)
  }

  /** A level's lines for the current millisecond: whether they are written, and how they start. */
  #refresh(level: AccessLevel, head: Head): void {
    head.generation = this.#generation
    head.enabled = this.#enabled(level, head)
    if (!head.enabled) return
    // Epoch milliseconds as two small integers: printing the one 13-digit number costs more.
    const time = this.#ms
    const millions = Math.floor(time / 1e6)
    if (millions !== head.millions) {
      head.millions = millions
      head.timed = flat(`${head.prefix},"time":${millions}`)
    }
    head.start = `${head.timed}${String(1e6 + (time - millions * 1e6)).slice(1)}${this.#afterBindings}`
    head.ascii = this.#asciiTails && this.#asciiBindings && head.asciiPrefix
  }

  /** The line after the URL: route, status, duration and message; made once per duration under 10 ms for the shapes this log made. */
  #end(shape: AccessShape, hundredthsMs: number, aborted: boolean): string {
    if (aborted) return `${shape.afterUrl}${hundredths(hundredthsMs)}${this.#tails[1]}`
    if (hundredthsMs >= CACHED_ENDS || (shape[kOwner] !== this && shape[kOwner] !== undefined)) return `${shape.afterUrl}${hundredths(hundredthsMs)}${this.#tails[0]}`
    shape[kOwner] = this
    const ends = shape[kEnds]
    return (ends[hundredthsMs] ??= flat(`${shape.afterUrl}${hundredths(hundredthsMs)}${this.#tails[0]}`))
  }

  #head(level: AccessLevel): Head {
    // A server's lines are mostly at one level.
    if (level === this.#lastLevel) return this.#lastHead!
    let head = this.#heads.get(level)
    if (head === undefined) {
      const value = this.#levels[level]!
      const prefix = this.#prefixes[value]!
      head = { value, prefix, asciiPrefix: isAscii(prefix), millions: -1, timed: '', generation: -1, enabled: false, start: '', ascii: false }
      this.#heads.set(level, head)
    }
    this.#lastLevel = level
    this.#lastHead = head
    return head
  }

  /** Writes the lines still waiting. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.length === 0) return
    // The monotonic clock does not follow a step of the wall clock (NTP, an operator): follow it here.
    const drift = Date.now() - (this.#origin + performance.now())
    if (drift > 2 || drift < -2) {
      this.#origin += drift
      this.#ms = -1
    }
    const lines = this.#pending
    const wide = this.#wide
    this.#pending = ''
    this.#wide = false
    const stream = this.#stream!
    const fd = wide ? -1 : idleDescriptor(stream as SonicBoomState)
    if (fd === -1) {
      stream.write(lines)
      return
    }
    // ASCII, so one byte per character: written as Latin-1, a copy, where UTF-8 is a pass per
    // character. Whatever did not go (an error, a full pipe) goes through the stream, which
    // reports or retries as it does for its own writes.
    let written = 0
    try {
      written = writeSync(fd, lines, null, 'latin1')
    } catch {
      written = 0
    }
    if (written < lines.length) stream.write(written === 0 ? lines : lines.slice(written))
  }

  /** Flushes and stops watching for exit. */
  close(): void {
    this.flush()
    process.off('exit', this.#flushNow)
  }
}
