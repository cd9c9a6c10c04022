/**
 * What an application is made of and how it is started: the options of createApp and start(),
 * what start() and check() report, and the compile-time check of missing providers.
 */
import type { BootstrapOptions } from '../bootstrap/phase.js'
import type { ConfigDefinition, LoadedConfig } from '../config/config.js'
import type { AnyProvider } from '../container/provider.js'
import type { Accessor, Optional, Token } from '../container/token.js'
import type { GraphProblem } from '../container/graph.js'
import type { HealthOptions } from '../health/health.js'
import type { LifecycleOptions } from '../lifecycle/lifecycle.js'
import type { ShutdownOptions } from '../lifecycle/shutdown.js'
import type { Logger } from '../logging/logger.js'
import type { LoggingOptions } from '../logging/logging.js'
import type { MetricsOptions } from '../metrics/metrics.js'
import type { ModuleDiscoveryOptions } from '../modules/discovery.js'
import type { PreflightSettings } from '../preflight/preflight.js'
import type { Module } from '../modules/module.js'

export type { ShutdownOptions }

/** Names the kernel provides to every app, for the compile-time check of missing providers. */
export type KernelTokenName = 'logger' | 'app' | 'health' | 'metrics'

export interface AppOptions<C extends readonly AnyProvider[], M extends readonly Module[]> {
  name: string
  version?: string
  /** The configuration definition (defineConfig); its value is provided under its token. */
  config?: ConfigDefinition<any>
  components?: C
  modules?: M
  /**
   * A folder to discover more modules in: one sub-folder per module, with a `module.json`
   * manifest and/or a `module.js` (or `.ts`) whose default export is a module.
   * Prefer `new URL('./modules/', import.meta.url)`, which works from sources and builds alike.
   */
  discoverModules?: string | URL | ModuleDiscoveryOptions
  /** The bootstrap phase: the data directory, the app's own requirements and handlers, and its settings. */
  bootstrap?: BootstrapOptions
  shutdown?: ShutdownOptions
  lifecycle?: LifecycleOptions
  /**
   * Logging options, a function of the validated configuration that gives them (so that a
   * setting can turn on the rotating log file), or a ready pino logger.
   */
  logging?: LoggingOptions | ((config: any) => LoggingOptions) | Logger
  /** Defaults of the health registry's checks, and the liveness limit. */
  health?: HealthOptions
  /** Options of the app's metrics registry. */
  metrics?: MetricsOptions
  /** The production preflight: thresholds, required variables, and whether it runs at start. */
  preflight?: PreflightSettings
}

/** An address a server announced, for the ready banner. */
export interface Endpoint {
  readonly name: string
  readonly url: string
}

export interface StartOptions {
  /** CLI flags for the configuration (`--http.port=8001`). */
  argv?: string[]
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Providers that replace those of the same token, for tests. */
  overrides?: readonly AnyProvider[]
}

export interface StartResult {
  readonly duration: number
  readonly criticalPath: readonly { component: string; duration: number }[]
  readonly degraded: readonly string[]
}

/** The result of `app.check()`: configuration and graph validated, nothing started. */
export interface CheckReport {
  readonly config: LoadedConfig<unknown> | undefined
  readonly problems: readonly GraphProblem[]
  /** Not errors: components with lifecycle hooks that nothing eager needs, so they never start. */
  readonly warnings: readonly string[]
  readonly components: number
}

type NameOf<Tk> = Tk extends Token<any, infer N> ? (string extends N ? never : N) : never
type RequiredName<D> = D extends Optional ? never : D extends Accessor<infer Tk> ? NameOf<Tk> : NameOf<D>
type RequiredNames<P> = P extends { readonly deps: infer D } ? { [K in keyof D]: RequiredName<D[K]> }[keyof D] : never
type ProvidedNames<P> = P extends { readonly provides: { readonly name: infer N } } ? N : never
type ProvidersOf<C extends readonly AnyProvider[], M extends readonly Module[]> = C[number] | M[number]['components'][number]

/** Names of tokens some component needs and no component provides. */
export type MissingProviders<C extends readonly AnyProvider[], M extends readonly Module[], K = undefined> = Exclude<
  RequiredNames<ProvidersOf<C, M>>,
  ProvidedNames<ProvidersOf<C, M>> | KernelTokenName | (K extends ConfigDefinition<any> ? K['name'] : never)
>

/**
 * Turns missing providers into a compile error that names each. The names are rebuilt as a
 * template literal so that the error prints the union itself (`"clock" | "mailer"`): the union
 * as computed carries the alias `MissingProviders<...>`, which TypeScript prints instead of its
 * members once there are two or more.
 */
export type CheckProviders<C extends readonly AnyProvider[], M extends readonly Module[], K = undefined> = [MissingProviders<C, M, K>] extends [never]
  ? unknown
  : { readonly 'missing providers': `${MissingProviders<C, M, K> & string}` }
