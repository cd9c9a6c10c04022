/**
 * The bootstrap phase of an app: its settings, the built-in handlers with the app's own, and
 * the requirements of the app and of every registered module, put together and run.
 */
import { resolve } from 'node:path'
import { artifactsHandler } from './artifacts.js'
import { databasesHandler, type DatabaseBootstrapDriver } from './databases.js'
import { directoriesHandler } from './directories.js'
import { filesHandler } from './files.js'
import { checkRequirements, type BootstrapRequirements, type FieldProblem } from './requirements.js'
import { runBootstrap, type BootstrapHandler, type BootstrapReport, type BootstrapSettings, type RequirementSet } from './bootstrap.js'
import { PlinthError } from '../errors.js'
import type { EventStream, LifecycleEvent } from '../lifecycle/events.js'
import type { Logger } from '../logging/logger.js'
import type { CheckedModule } from '../modules/validation.js'

/** `createApp({ bootstrap })`: what the bootstrap phase prepares, and how. */
export interface BootstrapOptions extends BootstrapSettings {
  /**
   * The data directory everything relative is prepared under: a path, or a function of the
   * validated configuration. Default `DATA_DIR` from the environment, else `./data`.
   */
  dataDir?: string | ((config: any) => string)
  /** Create data, logs, cache and tmp under the data directory. Default true. */
  standardDirectories?: boolean
  /** The app's own requirements; unlike a module's, their paths may be absolute. */
  requirements?: BootstrapRequirements
  /** Handlers of the app, run with the built-ins by priority. */
  handlers?: readonly BootstrapHandler[]
  /** Database bootstrap drivers for this app, before those registered with registerDatabaseDriver. */
  databaseDrivers?: readonly DatabaseBootstrapDriver[]
}

export interface BootstrapRun {
  readonly options: BootstrapOptions
  readonly modules: readonly CheckedModule[]
  readonly appName: string
  readonly appEnv: string
  readonly config: unknown
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly dryRun: boolean
  readonly log: Logger
  readonly events: EventStream<LifecycleEvent>
}

/**
 * The data directory of an app, absolute.
 *
 * @example
 * resolveDataDir({ dataDir: (config) => config.storage.dir }, loaded.value, process.env, process.cwd())
 */
export function resolveDataDir(options: BootstrapOptions, config: unknown, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen = typeof options.dataDir === 'function' ? options.dataDir(config) : (options.dataDir ?? (env.DATA_DIR || 'data'))
  if (typeof chosen !== 'string' || chosen === '') {
    throw new PlinthError('PLINTH_ERR_INVALID_BOOTSTRAP', `bootstrap.dataDir gave ${JSON.stringify(chosen)}; it must be a directory path`)
  }
  return resolve(cwd, chosen)
}

/** The built-in handlers: directories (10), files (20), databases (30), artifacts (40). */
function builtinHandlers(options: BootstrapOptions = {}): BootstrapHandler[] {
  return [directoriesHandler({ standard: options.standardDirectories ?? true }), filesHandler(), databasesHandler(options.databaseDrivers), artifactsHandler()]
}

/** The app's own requirements and each registered module's, in dependency order. */
export function requirementSets(options: BootstrapOptions, modules: readonly CheckedModule[], cwd: string): RequirementSet[] {
  const problems: FieldProblem[] = []
  const own = checkRequirements(options.requirements, 'bootstrap.requirements', false, problems)
  if (problems.length > 0) {
    throw new PlinthError('PLINTH_ERR_INVALID_BOOTSTRAP', `the app's bootstrap requirements have ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p.field}: ${p.message}`).join('\n')}`, {
      details: { problems },
    })
  }
  return [{ owner: undefined, baseDir: cwd, requirements: own }, ...modules.map((m) => ({ owner: m.module.id, baseDir: m.baseDir, requirements: m.requirements }))]
}

/**
 * Runs the bootstrap phase for an app's registered modules. Resolves to the report, failures
 * included; the caller aborts start-up on them (`bootstrapFailed`).
 *
 * @example
 * const report = await bootstrapModules({ options, modules, appName: 'svc', appEnv: 'development', config: undefined,
 *   cwd: process.cwd(), env: process.env, dryRun: true, log, events })
 */
export async function bootstrapModules(run: BootstrapRun): Promise<BootstrapReport> {
  const dataDir = resolveDataDir(run.options, run.config, run.env, run.cwd)
  const handlers = [...builtinHandlers(run.options), ...(run.options.handlers ?? [])]
  return runBootstrap(
    handlers,
    {
      dataDir,
      cwd: run.cwd,
      env: run.env,
      appName: run.appName,
      appEnv: run.appEnv,
      config: run.config,
      dryRun: run.dryRun,
      log: run.log,
      requirements: requirementSets(run.options, run.modules, run.cwd),
    },
    run.options,
    run.events,
  )
}
