import type { Logger } from '@plinth/core'
import type { FastifyBaseLogger } from 'fastify'

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'
type LogCall = (...args: unknown[]) => void

/**
 * `request.log`: the component's logger with the request id, built on first use. Fastify builds
 * a pino child for every request whether or not anything logs through it, and a child of a
 * logger with redaction paths costs microseconds, a tenth of a plain route's whole time; here
 * the child is made only when a handler logs at an enabled level. Methods live on the
 * prototype, so that Fastify's check of a custom logger's shape builds nothing.
 */
class LazyRequestLogger {
  readonly #parent: Logger
  readonly #bindings: Record<string, unknown>
  readonly #options: object
  #child: Logger | undefined

  constructor(parent: FastifyBaseLogger, bindings: Record<string, unknown>, options: object) {
    // Fastify's logger type names only the methods it calls; the instance is the app's pino logger.
    const pinoLogger: unknown = parent
    this.#parent = pinoLogger as Logger
    this.#bindings = bindings
    this.#options = options
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#real().level = level
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
    return this.#real().child(bindings, options)
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level)
  }

  bindings(): Record<string, unknown> {
    return this.#real().bindings()
  }

  #log(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return
    const call: LogCall = this.#real()[level]
    call.apply(this.#child, args)
  }

  #real(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options))
  }
}

/**
 * Fastify's childLoggerFactory that defers the child to its first use.
 *
 * @example
 * fastify({ loggerInstance: log, childLoggerFactory: lazyChildLogger })
 */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Record<string, unknown>, options: object): FastifyBaseLogger {
  const lazy: unknown = new LazyRequestLogger(logger, bindings, options)
  return lazy as FastifyBaseLogger
}

/**
 * The logger of access-log lines: the component's logger without redaction paths, whose
 * wildcard matching cost more than a plain route's whole request (14 µs against 3 µs a line,
 * measured). The line's fields are fixed (method, url, route, status, duration, request id) and
 * carry no secret key; a token in a query string is not something key-path redaction would
 * catch either.
 *
 * @example
 * const access = accessLogger(log)
 * access.info({ reqId, method, url, statusCode, durationMs }, `${method} ${url} ${statusCode}`)
 */
export function accessLogger(log: Logger): Logger {
  return log.child({}, { redact: [] })
}
