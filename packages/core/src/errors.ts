/**
 * Plinth's error catalogues. Every error a user can meet has a stable `PLINTH_ERR_*` code that is
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

/** Every catalogue loaded in this process, in load order (for docs and the errors test). */
export function loadedCatalogues(): readonly ErrorCatalogue[] {
  return catalogues
}

/** The catalogue of `@plinth/core`. */
export const coreErrors = defineErrors('@plinth/core', {
  PLINTH_ERR_INVALID_CONFIG: {
    title: 'Invalid configuration',
    hint: 'Fix each listed key in the source named beside it, then start again.',
  },
  PLINTH_ERR_INVALID_GRAPH: {
    title: 'Invalid dependency graph',
    hint: 'Fix each listed problem at the file and line named beside it; `plinth check` re-runs this validation without starting anything.',
  },
  PLINTH_ERR_MISSING_PROVIDER: {
    title: 'No provider for a token',
    hint: 'Add a provider for the token to the app or to one of its modules, or depend on it with optional(token).',
  },
  PLINTH_ERR_CYCLE: {
    title: 'Dependency cycle',
    hint: 'Break the cycle: move the shared part into its own component, or depend on one side through accessor(token) so it is resolved on use.',
  },
  PLINTH_ERR_CAPTIVE_DEPENDENCY: {
    title: 'Captive dependency',
    hint: 'A longer-lived component cannot hold a shorter-lived instance; depend on it through accessor(token), which resolves it in the current scope on each call.',
  },
  PLINTH_ERR_DUPLICATE_PROVIDER: {
    title: 'Two providers for one token',
    hint: 'Keep one provider, use a multi token (token(name).many<T>()) if all of them are wanted, or pass the replacement as an override.',
  },
  PLINTH_ERR_DUPLICATE_TOKEN_NAME: {
    title: 'Two tokens share one name',
    hint: 'Give each token a unique name, or import the one token from where it is declared instead of declaring it twice.',
  },
  PLINTH_ERR_INVALID_PROVIDER: {
    title: 'Invalid provider declaration',
    hint: 'Correct the provider declaration at the file and line named.',
  },
  PLINTH_ERR_NO_SCOPE: {
    title: 'No active scope',
    hint: 'Resolve scoped components inside container.runInScope(name, fn), or from a request handler that runs in one.',
  },
  PLINTH_ERR_SCOPE_DISPOSED: {
    title: 'Scope already disposed',
    hint: 'Do not keep a scope, or an accessor called through it, beyond the end of the work it was opened for.',
  },
  PLINTH_ERR_ASYNC_PROVIDER: {
    title: 'Asynchronous provider resolved synchronously',
    hint: 'Use `await container.resolve(token)`, or depend on the token from a component so that it is built during start.',
  },
  PLINTH_ERR_CREATE_FAILED: {
    title: 'A component could not be created',
    hint: 'Read the cause below; it is the error thrown by the component\'s factory or constructor.',
  },
  PLINTH_ERR_START_FAILED: {
    title: 'A component failed to start',
    hint: 'Read the cause below; raise startTimeout or add retry to the component if the failure is transient.',
  },
  PLINTH_ERR_START_TIMEOUT: {
    title: 'A component did not start in time',
    hint: 'Raise the component\'s startTimeout, or find why its start hangs (the AbortSignal passed to start fires at the deadline).',
  },
  PLINTH_ERR_DEPENDENCY_FAILED: {
    title: 'A dependency failed',
    hint: 'Fix the failing dependency named below; depend on it with optional(token) if this component can run without it.',
  },
  PLINTH_ERR_BOOT_FAILED: {
    title: 'The application failed to start',
    hint: 'Each failure is listed below; everything that had started was stopped again.',
  },
  PLINTH_ERR_STOP_FAILED: {
    title: 'A component failed to stop',
    hint: 'Read the cause below; the other components were still stopped.',
  },
  PLINTH_ERR_STOP_TIMEOUT: {
    title: 'A component did not stop in time',
    hint: 'Raise the component\'s stopTimeout, or find why its stop hangs.',
  },
  PLINTH_ERR_SHUTDOWN_TIMEOUT: {
    title: 'Shutdown exceeded its deadline',
    hint: 'The components listed were still stopping; raise shutdown.timeout or find what they wait for.',
  },
  PLINTH_ERR_INVALID_STATE: {
    title: 'Operation not allowed in the current state',
    hint: 'Start an application once, and stop it only after it has started.',
  },
  PLINTH_ERR_DISPOSE_FAILED: {
    title: 'Disposing a scope failed',
    hint: 'Read the causes below; every other instance of the scope was still disposed.',
  },
  PLINTH_ERR_CLI_USAGE: {
    title: 'Invalid command line',
    hint: 'Run `plinth help` for the commands and their options.',
  },
  PLINTH_ERR_APP_NOT_FOUND: {
    title: 'No application to load',
    hint: 'Pass the module that exports your app (`plinth check ./dist/app.js`), or set "plinth": { "app": "./dist/app.js" } in package.json.',
  },
  PLINTH_ERR_DB_INVALID_URL: {
    title: 'Invalid database URL',
    hint: 'Set DATABASE_URL to postgres://user:password@host:5432/database (percent-encode special characters), or leave it unset for SQLite in the data directory. Passwords are never printed.',
  },
  PLINTH_ERR_DB_CONNECT_FAILED: {
    title: 'Could not connect to the database',
    hint: 'Check that the server in DATABASE_URL is running and reachable from here (host, port, firewall); raise connectTimeout if it is slow to start, or set SKIP_DB_INIT=true to start without it.',
    status: 503,
  },
  PLINTH_ERR_DB_AUTH_FAILED: {
    title: 'The database refused the credentials',
    hint: 'Check the user and password in DATABASE_URL (or the secret it comes from) and that the server allows this user from this host (pg_hba.conf).',
  },
  PLINTH_ERR_DB_NOT_FOUND: {
    title: 'The database does not exist',
    hint: 'Create it, or declare it in a module\'s bootstrap.databases so that the bootstrap phase creates it, or correct the database name in DATABASE_URL.',
  },
  PLINTH_ERR_DB_UNAVAILABLE: {
    title: 'The database is unavailable',
    hint: 'The database could not be reached for this query; the next query tries again, and /health says since when and why. Check the database server.',
    status: 503,
  },
  PLINTH_ERR_DB_CREATE_FAILED: {
    title: 'A declared database could not be created',
    hint: 'Grant the DATABASE_URL user CREATEDB, or have an administrator run the CREATE DATABASE named in the message; for SQLite make the data directory writable.',
  },
  PLINTH_ERR_MIGRATION_FAILED: {
    title: 'A migration failed',
    hint: 'Fix the migration named (the database\'s own error is in the message); it was rolled back, so the next start or `plinth migrate up` applies it again.',
  },
  PLINTH_ERR_MIGRATION_LOCK_TIMEOUT: {
    title: 'Another instance held the migration lock too long',
    hint: 'Another instance is still migrating (the holder is named); wait for it, or raise migrationLockTimeout for long migrations.',
  },
  PLINTH_ERR_MIGRATION_INVALID: {
    title: 'Invalid migrations',
    hint: 'Correct the migration declarations listed: unique names per module, an up() function, and a down() for those you revert.',
  },
  PLINTH_ERR_LOG_FILE: {
    title: 'The log file could not be opened',
    hint: 'Install pino-roll (`npm install pino-roll`) and make the log directory writable; until then log lines go to standard output.',
  },
  PLINTH_ERR_INVALID_OPTION: {
    title: 'An option has an invalid value',
    hint: 'Correct the option named in the message, or leave it out for its default.',
    status: 400,
  },
  PLINTH_ERR_CIRCUIT_OPEN: {
    title: 'A circuit breaker is open',
    hint: 'The dependency failed repeatedly; calls fail fast until the retry time named, when one trial call goes through. Check the dependency\'s health at /health.',
    status: 503,
  },
  PLINTH_ERR_HEALTH_CHECK_TIMEOUT: {
    title: 'A health check did not answer in time',
    hint: 'Find why the dependency is slow, or raise the check\'s timeout; the check\'s AbortSignal fires at the deadline so that it can cancel its work.',
    status: 503,
  },
  PLINTH_ERR_DUPLICATE_HEALTH_CHECK: {
    title: 'Two health checks share one name',
    hint: 'Give each health check (and each component with a health hook) a unique name; the name labels its metrics and its entry in /health.',
  },
  PLINTH_ERR_INVALID_METRIC: {
    title: 'Invalid metric declaration',
    hint: 'Use a snake_case name with its unit as a suffix (_seconds, _bytes); counters end in _total and nothing else does. A name can be registered once per app.',
  },
  PLINTH_ERR_LISTEN_FAILED: {
    title: 'A server could not listen on its port',
    hint: 'Another process holds the port, or the address is not local; set the port named in the message (e.g. HTTP_PORT, METRICS_PORT) to a free one, or stop the other process.',
  },
  PLINTH_ERR_INVALID_MODULE: {
    title: 'Invalid module declaration',
    hint: 'Fix each listed field in the file named (a module.json manifest, or the defineModule call); the module is excluded until then.',
  },
  PLINTH_ERR_MODULE_IMPORT_FAILED: {
    title: 'A module could not be imported',
    hint: 'Read the cause below: the module file threw while loading. Importing a module must have no side effects; move work into components or init.',
  },
  PLINTH_ERR_MODULE_DEPENDENCY: {
    title: 'A module dependency is missing, excluded, incompatible or circular',
    hint: 'Add or fix the module named, or change the dependsOn range of the module that needs it; an excluded dependency\'s own reason is in the cause.',
  },
  PLINTH_ERR_DUPLICATE_MODULE: {
    title: 'Two modules share one id',
    hint: 'Give each module a unique id, or remove one of the two from the app\'s list or modules folder.',
  },
  PLINTH_ERR_REQUIRED_MODULE: {
    title: 'A required module was excluded',
    hint: 'Fix the reason listed for each required module; required modules cannot be left out, so nothing was started.',
  },
  PLINTH_ERR_MODULE_INIT_FAILED: {
    title: 'A module failed to initialise',
    hint: 'Read the cause below; a module that is not required is left degraded instead, and required ones abort start-up.',
  },
  PLINTH_ERR_MODULE_DISCOVERY: {
    title: 'The modules folder could not be read',
    hint: 'Check the discoverModules folder exists and is readable; relative paths are resolved against the working directory.',
  },
  PLINTH_ERR_BOOTSTRAP_FAILED: {
    title: 'The bootstrap phase failed',
    hint: 'Fix the cause listed for each handler, then start again; `plinth bootstrap --dry-run` shows what the bootstrap would do without writing anything.',
  },
  PLINTH_ERR_BOOTSTRAP_TIMEOUT: {
    title: 'A bootstrap handler did not finish in time',
    hint: 'Raise bootstrap.timeout, or find why the handler hangs (the signal in its context fires at the deadline).',
  },
  PLINTH_ERR_INVALID_BOOTSTRAP: {
    title: 'Invalid bootstrap settings',
    hint: 'Correct the bootstrap option or handler named in the message.',
  },
  PLINTH_ERR_BOOTSTRAP_PATH: {
    title: 'A bootstrap target is occupied by something else',
    hint: 'Move away what is at the path named (a file where a directory is declared, or the reverse), or change the declaration.',
  },
  PLINTH_ERR_TEMPLATE: {
    title: 'A config file template cannot be used',
    hint: 'Make the template file exist at the path named (relative to the module folder) and use only the placeholders listed.',
  },
  PLINTH_ERR_NO_DATABASE_DRIVER: {
    title: 'No database bootstrap driver for a declared database',
    hint: 'Install the database package (@plinth/db) and register its driver (registerDatabaseDriver, or bootstrap.databaseDrivers), or name a registered driver in the declaration.',
  },
  PLINTH_ERR_ARTIFACT_FETCH: {
    title: 'An artifact could not be fetched or copied',
    hint: 'Check the source URL or path and the network; nothing partial was left behind, and the next start tries again.',
  },
  PLINTH_ERR_ARTIFACT_CHECKSUM: {
    title: 'An artifact does not match its declared checksum',
    hint: 'The source gives different bytes than declared: correct the sha256 (or size) in the declaration, or the source. Nothing was written.',
  },
  PLINTH_ERR_DUPLICATE_HANDLER: {
    title: 'Two handlers for one message type or service',
    hint: 'Each WebSocket message type and each gRPC service has exactly one handler; rename one of the two named, or remove the duplicate contribution.',
  },
  PLINTH_ERR_INVALID_GRPC_SERVICE: {
    title: 'A gRPC service cannot be served',
    hint: 'Check the .proto path, the fully qualified service name (package.Service) and that the implementation has a function for every method named.',
  },
  PLINTH_ERR_INVALID_GRAPHQL_SCHEMA: {
    title: 'The GraphQL schema cannot be assembled',
    hint: 'Fix the type definitions or resolvers named in the message; every resolver must match a field of the type definitions contributed through GraphQLSchemaParts.',
  },
})

/** The entries of core's catalogue. */
export const errorCatalogue = coreErrors.entries

/** Every stable error code Plinth's core can raise. */
export type PlinthErrorCode = keyof typeof errorCatalogue



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

/** True when `err` is a PlinthError, optionally of the given code. */
export function isPlinthError(err: unknown, code?: string): err is PlinthError {
  return err instanceof PlinthError && (code === undefined || err.code === code)
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
