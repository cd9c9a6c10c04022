import { loadConfig, type ConfigDefinition, type LoadedConfig } from '../config/config.js'
import { describe } from '../errors.js'
import type { Node } from '../container/graph.js'
import { originalProvider, type AnyProvider } from '../container/provider.js'
import { requirementSets, resolveDataDir } from '../bootstrap/phase.js'
import type { CheckedModule } from '../modules/validation.js'
import { runPreflight, type PreflightOptions } from '../preflight/preflight.js'
import type { PreflightReport } from '../preflight/runner.js'
import { givenLogging } from './app-logging.js'
import type { Module } from '../modules/module.js'
import type { AppOptions } from './options.js'

/** What the preflight needs of an app: its name, options, providers and the kernel's. */
export interface PreflightSubject {
  readonly name: string
  readonly options: AppOptions<readonly AnyProvider[], readonly Module[]>
  readonly providers: AnyProvider[]
  readonly kernelProviders: AnyProvider[]
  readonly contextual: Map<symbol, (requester: Node) => unknown>
  /** The registered modules, whose bootstrap artifacts are checked. */
  readonly modules: readonly CheckedModule[]
}

/** Runs an app's preflight against the configuration (or the problem loading it) and environment given. */
export function appPreflight(app: PreflightSubject, config: LoadedConfig<unknown> | undefined, configProblem: string | undefined, env: NodeJS.ProcessEnv, cwd: string, options: PreflightOptions): Promise<PreflightReport> {
  const appEnv = config?.appEnv ?? env.APP_ENV ?? 'development'
  const logging = givenLogging(app.options.logging, config)
  let dataDir: string
  try {
    dataDir = resolveDataDir(app.options.bootstrap ?? {}, config?.value, env, cwd)
  } catch {
    dataDir = cwd
  }
  return runPreflight(
    {
      // Contributors recognise their packages' providers as made, not as a module's copy of them.
      setup: { appName: app.name, appEnv, production: appEnv === 'production', env, config: config?.value, providers: app.providers.map(originalProvider) },
      dataDir,
      kernelProviders: app.kernelProviders,
      contextual: app.contextual,
      core: {
        logging: { level: logging?.level ?? env.LOG_LEVEL ?? 'info', pretty: logging?.pretty ?? false },
        printedConfig: config?.redacted(),
        configProblem,
      },
      settings: app.options.preflight ?? {},
      artifacts: { requirements: () => requirementSets(app.options.bootstrap ?? {}, app.modules, cwd), cwd, bootstrapsAtStart: app.options.bootstrap?.enabled !== false },
    },
    options,
  )
}

/** The configuration for a preflight run, or why it could not be loaded: the environment checks report it. */
export async function preflightConfig(definition: ConfigDefinition<unknown> | undefined, options: PreflightOptions & { env: NodeJS.ProcessEnv }): Promise<{ config?: LoadedConfig<unknown>; problem?: string }> {
  if (!definition) return {}
  try {
    return { config: await loadConfig(definition, options) }
  } catch (error) {
    return { problem: describe(error) }
  }
}
