import type { BootstrapRequirements } from '../bootstrap/requirements.js'
import type { Logger } from '../logging/logger.js'
import type { AnyProvider } from '../container/provider.js'
import { captureSite, type Site } from '../container/site.js'
import type { Token } from '../container/token.js'

/**
 * A unit of an application: its components, the modules it builds on, and what must exist on
 * disk before it loads (the bootstrap phase prepares it).
 */
export interface Module<C extends readonly AnyProvider[] = readonly AnyProvider[]> {
  readonly id: string
  /** A semver version; other modules' `dependsOn` ranges are checked against it. */
  readonly version: string
  /** Module ids this module needs, with semver ranges: { users: '^1.0.0' }. */
  readonly dependsOn: Readonly<Record<string, string>>
  readonly components: C
  /** Abort start-up when this module fails to register or initialise, instead of excluding it. */
  readonly required: boolean
  /** Runs after the module's components have started; a failure leaves the module degraded. */
  readonly init?: (context: ModuleInitContext) => void | Promise<void>
  /** Deadline of init in milliseconds. Default 30 000. */
  readonly initTimeout?: number
  /** Directories, files, databases and artifacts the bootstrap phase prepares before the module loads. */
  readonly bootstrap?: BootstrapRequirements
  /** The folder that template and artifact paths are relative to. Default: the declaring file's folder. */
  readonly baseDir?: string
  /** Where the module was declared: defineModule's call site, or the manifest's path. */
  readonly site?: Site | string
}

export interface ModuleInitContext {
  /** Fires when the init deadline passes or start-up is abandoned. */
  readonly signal: AbortSignal
  /** Resolves one of the app's tokens. */
  readonly resolve: <T>(token: Token<T>) => Promise<T>
  /** The module's logger. */
  readonly log: Logger
  /** The data directory the bootstrap phase prepared (absolute). */
  readonly dataDir: string
}

export interface ModuleDeclaration<C extends readonly AnyProvider[]> {
  id: string
  version?: string
  dependsOn?: Record<string, string>
  components?: C
  required?: boolean
  init?: Module['init']
  initTimeout?: number
  bootstrap?: BootstrapRequirements
  /** Pass `import.meta.dirname` when the module's files are not beside the declaring file. */
  baseDir?: string
}

/**
 * Declares a module. Nothing is checked or run here: registration validates the declaration
 * (naming this file and the field at fault) so that a wrong module is excluded with a reason
 * instead of crashing the import of the whole app.
 *
 * @example
 * export default defineModule({
 *   id: 'telemetry',
 *   version: '1.0.0',
 *   dependsOn: { devices: '^1.0.0' },
 *   components: [readings, ingestRoutes],
 *   bootstrap: {
 *     directories: ['telemetry/spool'],
 *     artifacts: [{ path: 'models/anomaly.onnx', source: 'https://models.example.com/anomaly-1.2.onnx', sha256: '9f86d0...' }],
 *   },
 *   init: async ({ resolve }) => (await resolve(readings)).warmUp(),
 * })
 */
export function defineModule<const C extends readonly AnyProvider[] = []>(declaration: ModuleDeclaration<C>): Module<C> {
  const site = captureSite(defineModule)
  return {
    ...declaration,
    id: declaration.id,
    version: declaration.version ?? '0.0.0',
    dependsOn: declaration.dependsOn ?? {},
    components: (declaration.components ?? []) as C,
    required: declaration.required ?? false,
    site,
  }
}
