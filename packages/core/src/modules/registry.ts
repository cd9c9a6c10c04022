/**
 * An app's modules through both phases. Phase 1 (register): the listed and discovered modules
 * are read, checked and ordered by dependency; a module that fails is excluded with every module
 * depending on it, and start-up goes on unless one of them is required. Phase 2 (initialise):
 * each module's init runs once its components have started; a failing init leaves the module
 * degraded, which is fatal only for a required module.
 */
import { withDeadline } from '../lifecycle/deadline.js'
import { PlinthError, describe } from '../errors.js'
import type { EventStream, LifecycleEvent } from '../lifecycle/events.js'
import type { GraphProblem } from '../container/graph.js'
import type { Logger } from '../logging/logger.js'
import { discoverModules, type ModuleCandidate, type ModuleDiscoveryOptions } from './discovery.js'
import { reasonOf, resolveModules, type ModuleResolution } from './resolution.js'
import { checkModule, invalidModule, type CheckedModule } from './validation.js'
import type { Module } from './module.js'
import { withModule, type AnyProvider } from '../container/provider.js'
import type { Token } from '../container/token.js'
import type { Site } from '../container/site.js'

export type ModuleState = 'registered' | 'excluded' | 'initialising' | 'ready' | 'degraded'

/** What the app knows of one module; `app.modules()` lists them for readiness details. */
export interface ModuleStatus {
  readonly id: string
  readonly version: string | undefined
  /** Where it was declared or found. */
  readonly source: string
  readonly required: boolean
  readonly dependsOn: Readonly<Record<string, string>>
  readonly state: ModuleState
  /** Why it is excluded or degraded. */
  readonly reason: string | undefined
  readonly error: unknown
}

export interface ModuleInitEnvironment {
  readonly resolve: <T>(token: Token<T>) => Promise<T>
  readonly log: (module: string) => Logger
  readonly dataDir: string
}

const now = () => performance.now()

export class ModuleRegistry {
  readonly #explicit: readonly Module[]
  readonly #discovery: ModuleDiscoveryOptions | undefined
  readonly #events: EventStream<LifecycleEvent>
  #resolution: ModuleResolution | undefined
  #status = new Map<string, ModuleStatus>()
  /** Token name -> the excluded module whose component provides it, to explain a missing provider. */
  #excludedTokens = new Map<string, ModuleStatus>()

  readonly #site: Site | undefined

  /** `site`: the app's createApp call, where the app's own components are listed. */
  constructor(explicit: readonly Module[], discovery: ModuleDiscoveryOptions | undefined, events: EventStream<LifecycleEvent>, site?: Site) {
    this.#explicit = explicit
    this.#site = site
    this.#discovery = discovery
    this.#events = events
  }

  /** Where modules are discovered, when they are. */
  get discovery(): ModuleDiscoveryOptions | undefined {
    return this.#discovery
  }

  /** The outcome of the last `register()`: nothing registered or excluded before the first. */
  resolution(): ModuleResolution {
    return this.#resolution ?? { registered: [], excluded: [] }
  }

  /** The modules registered by the last `register()`, in dependency order. */
  registered(): readonly CheckedModule[] {
    return this.#resolution?.registered ?? []
  }

  /**
   * Where the list holding a provider was written, to name both lists of a duplicate: the app's
   * createApp call for its own components, a module's defineModule call (or manifest) for its.
   */
  listedAt(id: string | undefined): string | undefined {
    if (id === undefined) return this.#site && String(this.#site)
    const module = (this.#resolution?.registered.map((c) => c.module) ?? this.#explicit).find((m) => m?.id === id)
    return module?.site === undefined ? undefined : String(module.site)
  }

  /** Each module's providers, attributed to it: the registered ones, or the listed ones before registration. */
  providers(): AnyProvider[] {
    const modules = this.#resolution ? this.#resolution.registered.map((c) => c.module) : this.#explicit
    return modules.flatMap((module) => (Array.isArray(module?.components) ? module.components.map((p) => withModule(p, module.id)) : []))
  }

  statuses(): ModuleStatus[] {
    return [...this.#status.values()]
  }

  /**
   * Phase 1: reads, checks and orders the modules, and reports each registration and exclusion
   * on the event stream. Rejects when a required module is excluded.
   */
  async register(cwd: string): Promise<ModuleResolution> {
    const candidates = this.#explicit.map((module, index) => listedCandidate(module, index))
    if (this.#discovery) candidates.push(...(await discoverModules(this.#discovery, cwd)))
    const resolution = resolveModules(candidates)
    this.#resolution = resolution
    this.#status = new Map()
    for (const { module, source } of resolution.registered) {
      this.#set({ id: module.id, version: module.version, source, required: module.required, dependsOn: module.dependsOn, state: 'registered', reason: undefined, error: undefined })
      this.#events.emit({ type: 'module-registered', module: module.id, version: module.version, source, components: module.components.length, at: now() })
    }
    this.#excludedTokens = new Map()
    for (const x of resolution.excluded) {
      const candidate = candidates.find((c) => c.id === x.id)
      const module = candidate?.checked?.module
      const status: ModuleStatus = { id: x.id, version: module?.version, source: x.source, required: x.required, dependsOn: module?.dependsOn ?? {}, state: 'excluded', reason: x.reason, error: x.error }
      this.#set(status)
      for (const provider of module?.components ?? []) this.#excludedTokens.set(provider.provides.name, status)
      this.#events.emit({ type: 'module-excluded', module: x.id, source: x.source, required: x.required, reason: x.reason, error: x.error, at: now() })
    }
    const fatal = resolution.excluded.filter((x) => x.required)
    if (fatal.length > 0) {
      const lines = fatal.map((x) => `  - ${x.id} (${x.source}): ${x.reason}`)
      throw new PlinthError('PLINTH_ERR_REQUIRED_MODULE', `${fatal.length === 1 ? 'a required module was' : `${fatal.length} required modules were`} excluded:\n${lines.join('\n')}`, {
        cause: fatal.length === 1 ? fatal[0]!.error : new AggregateError(fatal.map((x) => x.error)),
        details: { excluded: fatal.map((x) => ({ id: x.id, source: x.source, reason: x.reason })) },
      })
    }
    return resolution
  }

  /**
   * Says, in a "nothing provides x" problem, which excluded module would have provided x and
   * why it was excluded, or which excluded modules could not even be read.
   */
  explain(problems: readonly GraphProblem[]): GraphProblem[] {
    const unread = this.statuses().filter((s) => s.state === 'excluded' && s.version === undefined)
    return problems.map((problem) => {
      if (problem.code !== 'PLINTH_ERR_MISSING_PROVIDER') return problem
      const by = this.#excludedTokens.get(problem.token)
      if (by) return { ...problem, message: `${problem.message}; module "${by.id}", which provides it, was excluded: ${by.reason}` }
      if (unread.length === 0) return problem
      return { ...problem, message: `${problem.message}; it may belong to an excluded module that could not be read: ${unread.map((s) => s.id).join(', ')}` }
    })
  }

  /**
   * Phase 2: runs each registered module's init once the modules it depends on have finished
   * theirs, concurrently where independent. Rejects when a required module's init fails.
   */
  async initialise(env: ModuleInitEnvironment): Promise<void> {
    const abort = new AbortController()
    const done = new Map<string, Promise<void>>()
    const fatal: { id: string; error: unknown }[] = []
    for (const { module, source } of this.registered()) {
      const deps = Object.keys(module.dependsOn).map((d) => done.get(d) ?? Promise.resolve())
      // Once a required module has failed, start-up is being abandoned: inits not yet begun stay not begun.
      const run = () => (abort.signal.aborted ? undefined : this.#initOne(module, source, env, abort.signal))
      done.set(module.id, Promise.all(deps).then(run).catch((error: unknown) => {
        fatal.push({ id: module.id, error })
        abort.abort(new PlinthError('PLINTH_ERR_BOOT_FAILED', `start-up abandoned: required module "${module.id}" failed to initialise`))
      }))
    }
    await Promise.all(done.values())
    if (fatal.length > 0) {
      const lines = fatal.map((f) => `  - ${f.id}: ${describe(f.error)}`)
      throw new PlinthError('PLINTH_ERR_MODULE_INIT_FAILED', `${fatal.length === 1 ? 'a required module' : `${fatal.length} required modules`} failed to initialise:\n${lines.join('\n')}`, {
        cause: fatal.length === 1 ? fatal[0]!.error : new AggregateError(fatal.map((f) => f.error)),
      })
    }
  }

  async #initOne(module: Module, source: string, env: ModuleInitEnvironment, signal: AbortSignal): Promise<void> {
    const status = this.#status.get(module.id)!
    const init = module.init
    if (!init) return this.#set({ ...status, state: 'ready' })
    const began = now()
    const timeout = module.initTimeout ?? 30_000
    this.#set({ ...status, state: 'initialising' })
    this.#events.emit({ type: 'module-initialising', module: module.id, at: began })
    try {
      await withDeadline(
        timeout,
        signal,
        () => new PlinthError('PLINTH_ERR_MODULE_INIT_FAILED', `module "${module.id}" (${source}) did not initialise within ${timeout} ms`),
        (initSignal) => init({ signal: initSignal, resolve: env.resolve, log: env.log(module.id), dataDir: env.dataDir }),
      )
      this.#set({ ...status, state: 'ready' })
      this.#events.emit({ type: 'module-initialised', module: module.id, duration: now() - began, at: now() })
    } catch (raw) {
      const error =
        raw instanceof PlinthError && raw.code === 'PLINTH_ERR_MODULE_INIT_FAILED'
          ? raw
          : new PlinthError('PLINTH_ERR_MODULE_INIT_FAILED', `module "${module.id}" (${source}) failed to initialise: ${describe(raw)}`, { cause: raw })
      const reason = reasonOf(error.message, module.id, source)
      this.#set({ ...status, state: 'degraded', reason, error })
      this.#events.emit({ type: 'module-degraded', module: module.id, required: module.required, reason, error, at: now() })
      if (module.required) throw error
    }
  }

  #set(status: ModuleStatus): void {
    this.#status.set(status.id, status)
  }
}

/** A module from the app's own list, checked where defineModule was called. */
function listedCandidate(module: Module, index: number): ModuleCandidate {
  const source = module?.site === undefined ? `modules[${index}]` : String(module.site)
  const id = typeof module?.id === 'string' ? module.id : `modules[${index}]`
  const { checked, problems } = checkModule(module, { source, kind: 'declaration' })
  if (!checked) return { id, source, required: module?.required === true, error: invalidModule(source, module?.id, problems) }
  return { id, source, required: checked.module.required, checked }
}
