import { assemblerFor, type Assemble } from './deps-object.js'
import type { Logger } from '../logging/logger.js'
import type { RetryOptions } from '../lifecycle/retry.js'
import { captureSite, type Site } from './site.js'
import { declareName, isDependency, type DependencyMap, type MultiToken, type ResolvedDeps, type Token } from './token.js'

/**
 * How long an instance lives.
 * - singleton: one per container, built once (lazily, or at start when needed by an eager component);
 * - transient: a new instance on every resolve;
 * - scoped: one per active scope of the provider's `scope` name (request, session, ...).
 */
export type Lifetime = 'singleton' | 'transient' | 'scoped'

export interface StartContext {
  /** Fires when the start deadline passes or start-up is abandoned. */
  readonly signal: AbortSignal
  /** 1 on the first try, 2 on the first retry, ... */
  readonly attempt: number
  readonly log: Logger
  /**
   * Says that the component started but runs without something it can do without for a while
   * (an optional database that is down): the app is ready, degraded, and the ready event names
   * it with the reason (a string or an error) and the components that depend on it.
   */
  readonly degraded: (reason: unknown) => void
}

export interface StopContext {
  /** Fires when the stop deadline passes. */
  readonly signal: AbortSignal
  readonly log: Logger
}

export interface HealthContext {
  readonly signal: AbortSignal
}

/** What a health check may return: nothing (up), a status, or a status with details. */
/**
 * What a health check answers. `error` on a result says the dependency failed although the
 * status is not down (an optional dependency the app runs without reports `degraded` with the
 * error): the run still counts as a failure for the check's circuit breaker, its last error and
 * `app_health_check_failures_total`.
 */
export type HealthResult = void | HealthStatus | { status: HealthStatus; details?: Record<string, unknown>; error?: string }
export type HealthStatus = 'up' | 'degraded' | 'down'

export interface ProviderOptions<T> {
  /** Default 'singleton'. */
  lifetime?: Lifetime
  /** For scoped providers: the name of the scope they live in. Default 'request'. */
  scope?: string
  /** Build and start at boot even though no eager component needs it (servers, workers). */
  eager?: boolean
  /** A failure to create or start degrades the app instead of aborting start-up. */
  optional?: boolean
  /** Per-attempt start deadline in milliseconds. Default 30 000. */
  startTimeout?: number
  /** Stop deadline in milliseconds. Default 10 000. */
  stopTimeout?: number
  /** Retries of a failed start, with exponential backoff and jitter. A number is the attempt count. */
  retry?: number | RetryOptions
  /** Called once the instance is built, in dependency order, concurrently where independent. */
  start?(instance: T, context: StartContext): void | Promise<void>
  /** Called at shutdown, in reverse dependency order. */
  stop?(instance: T, context: StopContext): void | Promise<void>
  /** A check of the dependency this component stands for; the health registry runs it. */
  health?(instance: T, context: HealthContext): HealthResult | Promise<HealthResult>
  /**
   * Releases an instance: a scoped or transient one when its scope ends, a singleton when the
   * container is disposed (after its stop hook, at shutdown). Defaults to the instance's
   * Symbol.asyncDispose or Symbol.dispose method when it has one.
   */
  dispose?(instance: T): void | Promise<void>
}

/**
 * A provider's dependencies: the map itself, or a function returning it, read only when the graph
 * is built. The function form is for files that import each other in a circle, where a token
 * imported from the circle is not yet initialised while the file loads: `deps: () => ({ orders })`.
 */
export type Deps<D extends DependencyMap> = D | (() => D)

export type FactorySpec<T, D extends DependencyMap> = ProviderOptions<T> &
  (
    | { value: T; deps?: never; create?: never; class?: never }
    | { deps?: Deps<D>; create: (deps: ResolvedDeps<D>) => T | Promise<T>; value?: never; class?: never }
    | { deps?: Deps<D>; class: new (deps: ResolvedDeps<D>) => T; value?: never; create?: never }
  )

/** The fields every provider has, whatever it provides. */
export interface Registration<T = unknown, D extends DependencyMap = DependencyMap> extends ProviderOptions<T> {
  readonly provides: Token<T, string> | MultiToken<T, string>
  /** The dependency map; empty until the graph is built when declared as a function (see `lazyDeps`). */
  readonly deps: D
  /** The function form of deps, `deps: () => ({ ... })`, called when the graph is built. */
  readonly lazyDeps?: () => D
  readonly lifetime: Lifetime
  readonly scope: string
  /** Builds the instance from its resolved dependencies. */
  readonly create: (deps: ResolvedDeps<D>) => T | Promise<T>
  /** Where the provider was declared, as "file:line". */
  readonly site: Site
  /** The module that registered the provider, once a module has. */
  readonly module?: string
  /** A value provider: built before anything else, never fails. */
  readonly isValue: boolean
  /** For class providers, the class: its instances are never promises, and its prototype says whether they are disposable. */
  readonly construct?: new (deps: ResolvedDeps<D>) => T
  /** Object.entries(deps), taken once at declaration rather than by every container built from it. */
  readonly depEntries?: readonly (readonly [string, unknown])[]
  /** Whether every entry of depEntries is a token, optional(token) or accessor(token). */
  readonly depsValid?: boolean
  /** Builds the deps object from values in depEntries order (see deps-object.ts). */
  readonly assemble?: Assemble
}

/** A provider of a single token; it can be used as that token in another provider's deps. */
export type Provider<T = unknown, N extends string = string, D extends DependencyMap = DependencyMap> = Registration<T, D> &
  Token<T, N> & { readonly provides: Token<T, N> }

/** A provider that contributes one value to a multi token. */
export type MultiProvider<T = unknown, N extends string = string, D extends DependencyMap = DependencyMap> = Registration<T, D> & {
  readonly kind: 'contribution'
  readonly provides: MultiToken<T, N>
  readonly name: N
}

export type AnyProvider = Provider<any, string, any> | MultiProvider<any, string, any>

function build<T, D extends DependencyMap>(provides: Token<T> | MultiToken<T>, spec: FactorySpec<T, D>, site: Site): Registration<T, D> {
  const lifetime = spec.lifetime ?? 'singleton'
  let create: (deps: ResolvedDeps<D>) => T | Promise<T>
  let isValue = false
  let construct: (new (deps: ResolvedDeps<D>) => T) | undefined
  if ('value' in spec) {
    const value = spec.value as T
    create = () => value
    isValue = true
  } else if (typeof spec.create === 'function') {
    create = spec.create
  } else if (typeof spec.class === 'function') {
    const Class = spec.class
    construct = Class
    create = (deps) => new Class(deps)
  } else {
    throw new TypeError(`provider "${provides.name}" at ${site} needs one of value, create or class`)
  }
  // The function form is read when the graph is built (see dependencyEntries), not now: its tokens may not exist yet.
  const lazyDeps = typeof spec.deps === 'function' ? spec.deps : undefined
  const deps = (lazyDeps ? {} : (spec.deps ?? {})) as D
  const depEntries = lazyDeps ? undefined : Object.entries(deps)
  // Every field, always, in one order: all registrations then share one shape, and the
  // container's reads of them stay monomorphic however differently providers are declared.
  return {
    provides,
    deps,
    lazyDeps,
    depEntries,
    depsValid: depEntries?.every(([, dep]) => isDependency(dep)),
    assemble: depEntries && assemblerFor(depEntries.map(([key]) => key)),
    construct,
    lifetime,
    scope: spec.scope ?? 'request',
    create,
    site,
    module: undefined,
    isValue,
    eager: spec.eager,
    optional: spec.optional,
    startTimeout: spec.startTimeout,
    stopTimeout: spec.stopTimeout,
    retry: spec.retry,
    /* eslint-disable @typescript-eslint/unbound-method -- the hooks are called on the registration (reg.start(instance, context)), as they were on the spec */
    start: spec.start,
    stop: spec.stop,
    health: spec.health,
    dispose: spec.dispose,
    /* eslint-enable @typescript-eslint/unbound-method */
  }
}

/**
 * Says how a token is made.
 *
 * @example
 * export const systemClock = provide(Clock, { value: { now: () => Date.now() } })
 * export const database = provide(Database, {
 *   deps: { config: AppConfig },
 *   create: ({ config }) => new Database(config.databaseUrl),
 *   start: (db, { signal }) => db.connect(signal),
 *   stop: (db) => db.close(),
 * })
 */
export function provide<T, N extends string, const D extends DependencyMap = Record<never, never>>(
  target: Token<T, N>,
  spec: FactorySpec<T, D>,
): Provider<T, N, D>
export function provide<T, N extends string, const D extends DependencyMap = Record<never, never>>(
  target: MultiToken<T, N>,
  spec: FactorySpec<T, D>,
): MultiProvider<T, N, D>
export function provide<T, N extends string, D extends DependencyMap>(
  target: Token<T, N> | MultiToken<T, N>,
  spec: FactorySpec<T, D>,
): Provider<T, N, D> | MultiProvider<T, N, D> {
  const site = captureSite(provide)
  const registration = build(target, spec, site)
  if (target.kind === 'multi') {
    return Object.freeze({ kind: 'contribution', id: undefined, slot: undefined, name: target.name, ...registration, provides: target })
  }
  return Object.freeze({ kind: 'token', id: target.id, slot: undefined, name: target.name, ...registration, provides: target })
}

/**
 * A component that is its own token: declare it once, depend on it by its variable.
 *
 * @example
 * export const users = component('users', {
 *   deps: { db: Database, log: Logger },
 *   create: ({ db, log }) => new UserRepository(db, log),
 * })
 * export const signup = component('signup', { deps: { users }, class: SignupService })
 */
export function component<const N extends string, T, const D extends DependencyMap = Record<never, never>>(
  name: N,
  spec: FactorySpec<T, D>,
): Provider<T, N, D> {
  const site = captureSite(component)
  declareName(name)
  const self: Token<T, N> = { kind: 'token', id: Symbol(name), name, site }
  const registration = build(self, spec, site)
  return Object.freeze({ kind: 'token', id: self.id, slot: nextSlot++, name, ...registration, provides: self })
}

const lazyEntries = new WeakMap<() => DependencyMap, readonly (readonly [string, unknown])[]>()

/**
 * A provider's dependencies as [key, dependency] pairs. The function form is called here, once,
 * when a graph is first built; what it throws is rethrown for the graph to report.
 */
export function dependencyEntries(reg: Registration): readonly (readonly [string, unknown])[] {
  if (reg.depEntries !== undefined) return reg.depEntries
  if (reg.lazyDeps === undefined) return Object.entries(reg.deps)
  let entries = lazyEntries.get(reg.lazyDeps)
  if (entries === undefined) {
    const deps: unknown = reg.lazyDeps()
    if (typeof deps !== 'object' || deps === null) throw new TypeError(`deps() must return an object of dependencies; got ${deps === null ? 'null' : typeof deps}`)
    entries = Object.entries(deps)
    lazyEntries.set(reg.lazyDeps, entries)
  }
  return entries
}

/** Components' slots: a container finds a component's node by array index instead of a Map lookup. */
let nextSlot = 0

/** Returns a copy of a provider attributed to a module, as modules do with their components. */
export function withModule<P extends AnyProvider>(provider: P, module: string): P {
  const copy = Object.freeze({ ...provider, module })
  origins.set(copy as AnyProvider, origins.get(provider) ?? provider)
  return copy
}

// The provider a module's copy was made from: packages recognise their own providers by identity.
const origins = new WeakMap<AnyProvider, AnyProvider>()

/**
 * The provider as its package made it, before a module attributed it (`withModule` copies):
 * what a package that keeps its providers in a WeakMap looks up.
 *
 * @example
 * const mine = app.providers().filter((p) => databaseProviders.has(originalProvider(p)))
 */
export function originalProvider(provider: AnyProvider): AnyProvider {
  return origins.get(provider) ?? provider
}
