import type { AnyProvider } from './provider.js'

/**
 * A unit of an application: its components, the modules it builds on, and (see the bootstrap
 * phase) what must exist on disk before it loads.
 */
export interface Module<C extends readonly AnyProvider[] = readonly AnyProvider[]> {
  readonly id: string
  readonly version: string
  /** Module ids this module needs, with semver ranges: { users: '^1.0.0' }. */
  readonly dependsOn: Readonly<Record<string, string>>
  readonly components: C
  /** Abort start-up when this module fails to register or initialise, instead of excluding it. */
  readonly required: boolean
  /** Runs after the module's components have started; a failure leaves the module degraded. */
  readonly init?: (context: ModuleInitContext) => void | Promise<void>
}

export interface ModuleInitContext {
  readonly signal: AbortSignal
  /** Resolves one of the app's tokens. */
  readonly resolve: <T>(token: import('./token.js').Token<T>) => Promise<T>
}

export interface ModuleDeclaration<C extends readonly AnyProvider[]> {
  id: string
  version?: string
  dependsOn?: Record<string, string>
  components?: C
  required?: boolean
  init?: Module['init']
}

/**
 * Declares a module.
 *
 * @example
 * export default defineModule({
 *   id: 'telemetry',
 *   version: '1.0.0',
 *   dependsOn: { devices: '^1.0.0' },
 *   components: [readings, ingestRoutes],
 * })
 */
export function defineModule<const C extends readonly AnyProvider[] = []>(declaration: ModuleDeclaration<C>): Module<C> {
  return {
    id: declaration.id,
    version: declaration.version ?? '0.0.0',
    dependsOn: declaration.dependsOn ?? {},
    components: (declaration.components ?? []) as C,
    required: declaration.required ?? false,
    ...(declaration.init ? { init: declaration.init } : {}),
  }
}
