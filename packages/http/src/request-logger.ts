import type { Logger } from '@plinth/core'
import type { FastifyBaseLogger } from 'fastify'

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'
type LogCall = (...args: unknown[]) => void

/**
 * A pino logger whose child is made on first use. Fastify makes a child of its logger for every
 * request (`request.log`, with the request id) whether or not anything logs through it, and a
 * child of a logger with redaction paths costs microseconds, a tenth of a plain route's whole
 * time; a child of this one is made only when a handler logs at an enabled level. It is
 * Fastify's logger instance itself rather than a childLoggerFactory, because Fastify checks the
 * shape of every child a custom factory returns, on every request.
 */
class LazyLogger {
  readonly #parent: Logger
  readonly #bindings: Record<string, unknown> | undefined
  readonly #options: object | undefined
  #real: Logger | undefined

  constructor(parent: Logger, bindings?: Record<string, unknown>, options?: object) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
    // Without bindings of its own it is its parent: the server's logger that Fastify holds.
    if (bindings === undefined) this.#real = parent
  }

  get level(): string {
    return this.#real?.level ?? (this.#options as { level?: string } | undefined)?.level ?? this.#parent.level
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

  /** A lazy child: its pino child is made when it first logs. */
  child(bindings: Record<string, unknown>, options?: object): LazyLogger {
    return new LazyLogger(this.#materialise(), bindings, options)
  }

  isLevelEnabled(level: string): boolean {
    if (this.#real !== undefined) return this.#real.isLevelEnabled(level)
    // A route's logLevel arrives as the child's level.
    const own = (this.#options as { level?: string } | undefined)?.level
    if (own === undefined) return this.#parent.isLevelEnabled(level)
    const { values } = this.#parent.levels
    return own !== 'silent' && values[level] !== undefined && values[level] >= values[own]!
  }

  bindings(): Record<string, unknown> {
    return this.#materialise().bindings()
  }

  #log(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return
    const real = this.#materialise()
    const call: LogCall = real[level]
    call.apply(real, args)
  }

  #materialise(): Logger {
    return (this.#real ??= this.#parent.child(this.#bindings ?? {}, this.#options))
  }
}

/**
 * The logger to give Fastify: the component's logger, with `request.log` children made lazily.
 *
 * @example
 * fastify({ loggerInstance: lazyLogger(log) })
 */
export function lazyLogger(log: Logger): FastifyBaseLogger {
  const lazy: unknown = new LazyLogger(log)
  return lazy as FastifyBaseLogger
}
