/**
 * The error mechanism every Plinth package shares: one PlinthError class and defineErrors, which
 * gives each package a catalogue of its own. Every error a user can meet has a stable `PLINTH_ERR_*` code that is
 * never reused, a title, a hint saying what to do next, and where it describes something other
 * than a server fault, the HTTP status that says so. Each package owns its catalogue, made with
 * {@link defineErrors}; `docs/errors.md` lists them all, and a test keeps catalogues, docs and
 * sources in step.
 */

/** One entry of a catalogue: what the code means, what to do, and its HTTP status if not 500. */
export interface ErrorEntry {
  readonly title: string
  readonly hint: string
  /** 400-599: how REST answers and how the other servers map it (404 is gRPC NOT_FOUND, ...). */
  readonly status?: number
  /**
   * The failure lies in the environment, not in code (a port in use, a setting out of range): the
   * message and hint say all there is, so logs write it as one line, without a stack trace. An
   * entry with a status other than 500 (a dependency unavailable, a refused input) is operational
   * without saying so.
   */
  readonly operational?: boolean
}

export interface PlinthErrorOptions {
  cause?: unknown
  /** What to do next; defaults to the catalogue's hint for the code. */
  hint?: string
  /** Structured facts (token names, file:line, ...) for programs that handle the error. */
  details?: Record<string, unknown>
}

/** A package's catalogue, as {@link defineErrors} returns it. */
export interface ErrorCatalogue<Code extends string = string> {
  /** The package that owns these codes, e.g. `@plinth/db`. */
  readonly package: string
  readonly entries: Readonly<Record<Code, ErrorEntry>>
  /** A PlinthError of one of this catalogue's codes, with the entry's hint and status. */
  create(code: Code, message: string, options?: PlinthErrorOptions): PlinthError
  /** True when `err` is a PlinthError of this catalogue (of `code`, when given). */
  is(err: unknown, code?: Code): err is PlinthError
}

// Every code of every catalogue loaded in this process, so that a PlinthError made from a bare
// code still finds its hint and status, and so that two packages cannot claim one code.
const registry = new Map<string, { readonly package: string; readonly entry: ErrorEntry }>()
const catalogues: ErrorCatalogue[] = []

/**
 * Declares a package's error catalogue. Codes are `PLINTH_ERR_*`, unique across every package;
 * a second package that claims a code throws at once, when its module loads.
 *
 * @example
 * export const errors = defineErrors('@plinth/cache', {
 *   PLINTH_ERR_CACHE_INVALID_KEY: {
 *     title: 'Invalid cache key',
 *     hint: 'Use a non-empty key of at most 1,024 characters.',
 *     status: 400,
 *   },
 * })
 * throw errors.create('PLINTH_ERR_CACHE_INVALID_KEY', 'key "" is empty')
 */
export function defineErrors<const Entries extends Record<string, ErrorEntry>>(packageName: string, entries: Entries): ErrorCatalogue<keyof Entries & string> {
  for (const [code, entry] of Object.entries(entries)) {
    if (!/^PLINTH_ERR_[A-Z0-9_]+$/.test(code)) throw new TypeError(`${packageName}: error code "${code}" must match PLINTH_ERR_[A-Z0-9_]+`)
    if (entry.status !== undefined && !(Number.isInteger(entry.status) && entry.status >= 400 && entry.status <= 599)) {
      throw new TypeError(`${packageName}: ${code} has status ${entry.status}; use an HTTP status from 400 to 599, or none for 500`)
    }
    const owner = registry.get(code)
    // The same package loaded twice (its sources and its build, say) declares the same codes.
    if (owner !== undefined && owner.package !== packageName) throw new TypeError(`${packageName}: error code ${code} already belongs to ${owner.package}; codes are never shared or reused`)
    registry.set(code, { package: packageName, entry })
  }
  type Code = keyof Entries & string
  const catalogue: ErrorCatalogue<Code> = {
    package: packageName,
    entries,
    create: (code, message, options) => new PlinthError(code, message, options),
    is: (err, code): err is PlinthError => err instanceof PlinthError && (code === undefined ? Object.hasOwn(entries, err.code) : err.code === code),
  }
  if (!catalogues.some((known) => known.package === packageName)) catalogues.push(catalogue)
  return catalogue
}

/**
 * Every catalogue loaded in this process, in load order (for docs and the errors test).
 *
 * @example
 * for (const catalogue of loadedCatalogues()) console.log(catalogue.package, Object.keys(catalogue.entries).length)
 */
export function loadedCatalogues(): readonly ErrorCatalogue[] {
  return catalogues
}

/**
 * The one error class of Plinth. `message` says what is wrong and where; `hint` what to do.
 *
 * @example
 * try { await app.start() } catch (err) {
 *   if (err instanceof PlinthError && err.code === 'PLINTH_ERR_BOOT_FAILED') process.exit(1)
 * }
 */
export class PlinthError extends Error {
  override readonly name = 'PlinthError'
  readonly code: string
  readonly hint: string
  readonly details: Record<string, unknown>
  /** The HTTP status its catalogue gives the code; undefined for a server fault (500). */
  readonly status: number | undefined

  /** Prefer the owning catalogue's `create`, which type-checks the code. */
  constructor(code: string, message: string, options: PlinthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    const known = registry.get(code)
    this.code = code
    this.hint = options.hint ?? known?.entry.hint ?? 'See docs/errors.md for this code.'
    this.details = options.details ?? {}
    this.status = known?.entry.status
  }

  /** The message, the hint and the chain of causes, as printed by the CLI. */
  describe(): string {
    let text = `${this.code}: ${this.message}\n  hint: ${this.hint}`
    let cause = this.cause
    while (cause !== undefined) {
      const line = cause instanceof PlinthError ? `${cause.code}: ${cause.message}` : cause instanceof Error ? `${cause.name}: ${cause.message}` : JSON.stringify(cause)
      text += `\n  cause: ${line.replaceAll('\n', '\n    ')}`
      cause = cause instanceof Error ? cause.cause : undefined
    }
    return text
  }
}

/**
 * True when `err` is a PlinthError, optionally of the given code.
 *
 * @example
 * if (isPlinthError(err, 'PLINTH_ERR_INVALID_CONFIG')) process.exitCode = 78
 */
export function isPlinthError(err: unknown, code?: string): err is PlinthError {
  return err instanceof PlinthError && (code === undefined || err.code === code)
}

/**
 * True when `error` is an expected, operational PlinthError: its catalogue entry says
 * `operational` (a port in use), or gives it an HTTP status other than 500 (a dependency
 * unavailable, a refused input). Its message and hint describe it whole: a situation to report,
 * logged without a stack, not a bug.
 *
 * @example
 * if (isOperational(error)) log.error({ code: error.code }, `${describe(error)}; fix: ${error.hint}`)
 */
export function isOperational(error: unknown): error is PlinthError {
  if (!(error instanceof PlinthError)) return false
  return registry.get(error.code)?.entry.operational === true || (error.status !== undefined && error.status !== 500)
}

/**
 * One line for an error: its code and message, for lists of failures.
 *
 * @example
 * describe(new PlinthError('PLINTH_ERR_START_FAILED', '"db" failed to start')) // 'PLINTH_ERR_START_FAILED: "db" failed to start'
 * describe(new Error('boom')) // 'boom'
 */
export function describe(error: unknown): string {
  if (error instanceof PlinthError) return `${error.code}: ${error.message}`
  if (error instanceof Error) return error.message
  return String(error)
}

/**
 * An error as a command prints it for people: a PlinthError with its hint and causes, any other
 * error with its stack (it is a bug to report), anything else as text. Every `plinth` command
 * prints failures this way.
 *
 * @example
 * try { await work() } catch (error) { err(reportError(error)); return ExitCode.failure }
 */
export function reportError(error: unknown): string {
  if (error instanceof PlinthError) return error.describe()
  if (error instanceof Error) return error.stack ?? error.message
  return String(error)
}

/**
 * The log fields for an error. An operational PlinthError ({@link isOperational}) is a situation
 * to report, not a bug: its code and hint, no stack, so that the line stays one line; put
 * `describe(error)` in the message. Any other error goes under `err` with its stack, for the bug
 * report it is.
 *
 * @example
 * log.warn({ database: name, ...errorFields(error) }, `database "${name}" cannot be checked now: ${describe(error)}`)
 */
export function errorFields(error: unknown): { code: string; hint: string } | { err: unknown } {
  return isOperational(error) ? { code: error.code, hint: error.hint } : { err: error }
}
