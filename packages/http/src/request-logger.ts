import type { Logger } from '@plinth/core'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'
type LogCall = (...args: unknown[]) => void

/**
 * `request.log`: a child of the server's logger bound to the request id, at the route's log
 * level, whose pino child is made on first use. A child of a logger with redaction paths costs
 * microseconds, a tenth of a plain route's whole time, and most requests never log; the route's
 * level is read only when something asks for it.
 */
class RequestLogger {
  readonly #parent: Logger
  readonly #request: FastifyRequest
  #real: Logger | undefined
  /** The route's own level (Fastify's `logLevel`, of the route or its plugin); null until read. */
  #routeLevel: string | undefined | null = null

  constructor(parent: Logger, request: FastifyRequest) {
    this.#parent = parent
    this.#request = request
  }

  get level(): string {
    return this.#real?.level ?? this.#ownLevel() ?? this.#parent.level
  }

  set level(level: string) {
    this.#materialise().level = level
  }

  trace(...args: unknown[]): void {
    this.#log('trace', args)
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args)
  }
  info(...args: unknown[]): void {
    this.#log('info', args)
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args)
  }
  error(...args: unknown[]): void {
    this.#log('error', args)
  }
  fatal(...args: unknown[]): void {
    this.#log('fatal', args)
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: object): Logger {
    return this.#materialise().child(bindings, options)
  }

  isLevelEnabled(level: string): boolean {
    if (this.#real !== undefined) return this.#real.isLevelEnabled(level)
    const own = this.#ownLevel()
    if (own === undefined) return this.#parent.isLevelEnabled(level)
    const { values } = this.#parent.levels
    return own !== 'silent' && values[level] !== undefined && values[level] >= values[own]!
  }

  bindings(): Record<string, unknown> {
    return this.#materialise().bindings()
  }

  #ownLevel(): string | undefined {
    // An empty logLevel means the server's.
    if (this.#routeLevel === null) this.#routeLevel = this.#request.routeOptions.logLevel || undefined
    return this.#routeLevel
  }

  #log(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return
    const real = this.#materialise()
    const call: LogCall = real[level]
    call.apply(real, args)
  }

  #materialise(): Logger {
    if (this.#real !== undefined) return this.#real
    const level = this.#ownLevel()
    return (this.#real = this.#parent.child({ reqId: this.#request.id }, level === undefined ? undefined : { level }))
  }
}

/**
 * The logger for `request.log` and `reply.log`: set once Fastify has routed the request. Fastify
 * would make it from a logger of its own, but with a logger Fastify also sets up listeners on
 * every response, which the HTTP server does without. Route-level `logSerializers` are not
 * applied; the app's logger's serializers are.
 *
 * @example
 * request.log = reply.log = requestLogger(log, request)
 */
export function requestLogger(log: Logger, request: FastifyRequest): FastifyBaseLogger {
  const lazy: unknown = new RequestLogger(log, request)
  return lazy as FastifyBaseLogger
}
