import { pino, type DestinationStream, type LoggerOptions } from 'pino'
import { scrub } from '../config/secrets.js'
import { PlinthError } from '../errors.js'
import { lazyRequire } from '../modules/lazy-require.js'
import type { Logger } from './logger.js'

const pinoPretty = lazyRequire<typeof import('pino-pretty')>('pino-pretty')

/** A rotating log file, written through pino-roll (an optional dependency: `npm install pino-roll`). */
export interface LogFileOptions {
  /** `logs/app.log`; rotated files are numbered before the extension: `logs/app.1.log`, `logs/app.2.log`. */
  path: string
  /** Rotate once the file reaches this size: `'10m'`, `'500k'`, `'1g'`. */
  maxSize?: string
  /** Rotate every day or every hour, whatever the size. */
  frequency?: 'daily' | 'hourly'
  /** Rotated files kept besides the active one; older ones (of this process) are deleted. */
  keep?: number
}

export interface LoggingOptions {
  /** pino level: fatal, error, warn, info, debug, trace or silent. Default `info`. */
  level?: string
  /** Human-readable lines (pino-pretty) instead of JSON; meant for development terminals. */
  pretty?: boolean
  /** pino redact paths, added to the common secret keys redacted always. */
  redact?: string[]
  /**
   * Secret values masked wherever they appear in a line (a message, an error's message or
   * stack, any field), whatever key they sit under: the configuration's `secretValues`.
   */
  secrets?: readonly string[]
  name?: string
  /** Where lines go; wins over `file` and `pretty`. Default standard output. */
  destination?: DestinationStream
  /** Write JSON lines to a rotating file instead of standard output. */
  file?: LogFileOptions
  /** Write to standard error instead of standard output (commands whose output is for people do). */
  stderr?: boolean
}

/** Redacted in every log line, whatever the caller passes: the keys secrets usually travel under. */
export const defaultRedactPaths: readonly string[] = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
]

const levels = [...Object.keys(pino.levels.values), 'silent']

/**
 * The root logger: JSON lines by default, pino-pretty in the same thread when `pretty` is set
 * (a worker transport would add tens of milliseconds to start-up), a rotating file when `file`
 * is set. Secrets under the default keys and the given paths are written as `[redacted]`, and
 * so is every value of `secrets`, wherever it appears in a line.
 *
 * @example
 * const log = createLogger({
 *   level: process.env.LOG_LEVEL ?? 'info',
 *   pretty: loaded.appEnv === 'development' && process.stdout.isTTY,
 *   redact: loaded.redactionPaths,
 *   secrets: loaded.secretValues,
 *   file: { path: 'logs/app.log', maxSize: '10m', keep: 5 },
 * })
 * log.info({ port: 8000 }, 'listening')
 */
export function createLogger(options: LoggingOptions = {}): Logger {
  const level = options.level ?? 'info'
  if (!levels.includes(level)) {
    throw new PlinthError('PLINTH_ERR_INVALID_CONFIG', `log level ${JSON.stringify(level)} is not one of ${levels.join(', ')}`, {
      hint: 'Set LOG_LEVEL (or the logging level option) to one of the levels listed.',
      details: { level },
    })
  }
  const config: LoggerOptions = {
    level,
    redact: { paths: [...new Set([...defaultRedactPaths, ...(options.redact ?? [])])], censor: '[redacted]' },
    // Redaction by key misses a secret quoted in a message (an upstream's 401 echoing the key):
    // every finished line is scrubbed of the secret values too.
    ...(options.secrets?.length ? { hooks: { streamWrite: (line: string) => scrub(line, options.secrets!) } } : {}),
    ...(options.name === undefined ? {} : { name: options.name }),
  }
  if (options.destination) return pino(config, options.destination)
  if (options.file) {
    const file = new RollingFile(options.file)
    const logger = pino(config, file)
    file.onFallback = (error) => logger.error({ err: error }, error.message)
    return logger
  }
  // Synchronous writes, so that the last lines before a crash or process.exit() reach the terminal.
  const fd = options.stderr ? 2 : 1
  // One line per entry, without the pid and host a terminal does not need.
  if (options.pretty) return pino(config, pinoPretty()({ colorize: Boolean((options.stderr ? process.stderr : process.stdout).isTTY), sync: true, destination: fd, ignore: 'pid,hostname', singleLine: true }))
  return options.stderr ? pino(config, pino.destination({ fd, sync: true })) : pino(config)
}

/**
 * The logger of one component: every line carries `component` and, when it has one, `module`.
 *
 * @example
 * const log = componentLogger(root, 'mailer', 'notifications')
 * log.info('sent') // {"component":"mailer","module":"notifications","msg":"sent",...}
 */
export function componentLogger(root: Logger, name: string, module?: string): Logger {
  return root.child(module === undefined ? { component: name } : { component: name, module })
}

type PinoRollBuild = (options: Record<string, unknown>) => Promise<DestinationStream & { flush?(cb?: (err?: Error) => void): void; end?(): void }>

// A variable, so that TypeScript and bundlers leave the optional dependency alone when it is absent.
const pinoRollModule = 'pino-roll'

/**
 * A destination that keeps pino's synchronous API while pino-roll opens its file, which it does
 * asynchronously. Lines written meanwhile are held and written in order once it is open; if it
 * cannot open, they go to standard output instead, so that no line is lost.
 */
class RollingFile implements DestinationStream {
  onFallback: ((error: PlinthError) => void) | undefined
  #target: (DestinationStream & { flush?(cb?: (err?: Error) => void): void }) | undefined
  #held: string[] = []
  readonly #opened: Promise<void>

  constructor(options: LogFileOptions) {
    this.#opened = this.#open(options)
  }

  write(line: string): void {
    if (this.#target) this.#target.write(line)
    else this.#held.push(line)
  }

  flush(cb?: (err?: Error) => void): void {
    this.#opened.then(
      () => (this.#target?.flush ? this.#target.flush(cb) : cb?.()),
      (error: Error) => cb?.(error),
    )
  }

  async #open(options: LogFileOptions): Promise<void> {
    let fallback: PlinthError | undefined
    try {
      const loaded = (await import(pinoRollModule)) as { default?: PinoRollBuild }
      const build = loaded.default ?? (loaded as unknown as PinoRollBuild)
      this.#target = await build({
        file: options.path,
        mkdir: true,
        ...(options.maxSize === undefined ? {} : { size: options.maxSize }),
        // The period in the name (app.2025-08-19.1.log) tells an operator which file to open.
        ...(options.frequency === undefined ? {} : { frequency: options.frequency, dateFormat: options.frequency === 'daily' ? 'yyyy-MM-dd' : 'yyyy-MM-dd-HH' }),
        ...(options.keep === undefined ? {} : { limit: { count: options.keep } }),
      })
    } catch (error) {
      fallback = openFailure(error, options.path)
      this.#target = process.stdout
    }
    for (const line of this.#held.splice(0)) this.#target.write(line)
    if (fallback) this.onFallback?.(fallback)
  }
}

function openFailure(error: unknown, path: string): PlinthError {
  const code = (error as { code?: unknown }).code
  const missing = code === 'ERR_MODULE_NOT_FOUND' || /(Cannot find|Failed to load|Failed to resolve).*pino-roll/i.test(String((error as Error).message))
  const message = missing
    ? `file logging to ${path} needs pino-roll, which is not installed; logging to standard output instead`
    : `cannot open the log file ${path}: ${(error as Error).message}; logging to standard output instead`
  return new PlinthError('PLINTH_ERR_LOG_FILE', message, {
    cause: error,
    details: { path, missingDependency: missing ? 'pino-roll' : undefined },
    ...(missing ? { hint: 'Install it where the application is installed: `npm install pino-roll`.' } : { hint: `Make ${path}'s directory writable by the user the service runs as.` }),
  })
}
