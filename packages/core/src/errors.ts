/**
 * The error catalogue of `@plinth/core`: the codes of the kernel (container, lifecycle,
 * configuration, modules, bootstrap, health, metrics, the CLI and the listener every server
 * uses). Adapters keep theirs in their own `src/errors.ts`; docs/errors.md lists them all.
 * Core's own files import PlinthError from here, so that the catalogue is loaded wherever an
 * error of it can be made.
 */
import { defineErrors } from './errors/plinth-error.js'

export { PlinthError, defineErrors, describe, errorFields, isOperational, isPlinthError, loadedCatalogues, reportError, type ErrorCatalogue, type ErrorEntry, type PlinthErrorOptions } from './errors/plinth-error.js'

/** The catalogue of `@plinth/core`. */
export const coreErrors = defineErrors('@plinth/core', {
  PLINTH_ERR_INVALID_CONFIG: {
    title: 'Invalid configuration',
    hint: 'Fix each listed key in the source named beside it, then start again.',
    operational: true,
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
    hint: 'Fix each failure listed (its cause, and the line that threw); what had started was stopped again, and what waited on a failed component never started.',
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
  PLINTH_ERR_PREFLIGHT_FAILED: {
    title: 'The start-up preflight found a failure',
    hint: 'Fix each failure listed (its last column says how), or run `plinth validate` for the full report; preflight.atStart: \'warn\' logs failures without refusing to start.',
  },
  PLINTH_ERR_PREFLIGHT_TIMEOUT: {
    title: 'A preflight check did not finish in time',
    hint: 'The service the check reaches hangs or is overloaded; find why, or raise the check\'s timeout (plinth validate --timeout MS).',
  },
  PLINTH_ERR_CLI_USAGE: {
    title: 'Invalid command line',
    hint: 'Run `plinth help` for the commands and their options.',
  },
  PLINTH_ERR_APP_NOT_FOUND: {
    title: 'No application to load',
    hint: 'Run plinth inside your project with "plinth": { "app": "./dist/app.js" } in its package.json (any folder below it works too), or name the module that exports the app: `plinth check --app ./dist/app.js`.',
  },
  PLINTH_ERR_BUILD_TOOL_MISSING: {
    title: 'plinth build needs esbuild',
    hint: 'Install it beside Plinth: `npm install --save-dev esbuild`; then run `npx plinth build` again.',
  },
  PLINTH_ERR_BUILD_FAILED: {
    title: 'The app could not be bundled',
    hint: 'Read esbuild\'s errors above (file:line); a package that cannot be bundled can be left to load from node_modules: `plinth build --external NAME`.',
  },
  PLINTH_ERR_APP_LOAD_FAILED: {
    title: 'The app module threw while loading',
    hint: 'Fix the line named: importing the app must only declare things; move work into components (their create or start hooks).',
  },
  PLINTH_ERR_IMPORT_CYCLE: {
    title: 'Files import each other in a circle',
    hint: 'Declare the dependency lazily, `deps: () => ({ ... })`, so it is read when the graph is built rather than when the file loads; or declare the tokens in a file of their own that imports none of the files in the circle.',
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
    operational: true,
  },
  PLINTH_ERR_INVALID_MODULE: {
    title: 'Invalid module declaration',
    hint: 'Fix each listed field in the file named (a module.json manifest, or the defineModule call); the module is excluded until then.',
  },
  PLINTH_ERR_MODULE_IMPORT_FAILED: {
    title: 'A module could not be imported',
    hint: 'Fix the line named, where the module file threw while loading: importing a module must have no side effects; move work into components or init.',
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
})

/** The entries of core's catalogue. */
export const errorCatalogue = coreErrors.entries

/** Every stable error code Plinth's core can raise. */
export type PlinthErrorCode = keyof typeof errorCatalogue
