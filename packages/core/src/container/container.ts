import { AsyncLocalStorage } from 'node:async_hooks'
import { PlinthError } from '../errors.js'
import { buildGraph, closest, type ContextualFactory, type Edge, type Graph, type GraphProblem, type Node } from './graph.js'
import { buildDirect, compile, createFailure, isOptionalIn, Op, Track, unbuiltSingletons, type Program } from './plan.js'
import type { AnyProvider } from './provider.js'
import type { AnyToken, MultiToken, Token, ValueOf } from './token.js'
import { assertValidGraph } from './graph-validation.js'
import { Scope, disposeBuilt, hasDispose, isThenable } from './scope.js'

export { Scope }
export { assertValidGraph, formatProblems } from './graph-validation.js'

export interface ContainerOptions {
  /** Providers that replace those of the same token (test doubles, environment variants). */
  overrides?: readonly AnyProvider[]
  /** Tokens whose value depends on who asks, such as each component's child logger. */
  contextual?: ReadonlyMap<symbol, ContextualFactory>
  /** Scope names from the longest-lived to the shortest, for captive checks. Default ['session', 'request']. */
  scopes?: readonly string[]
  /** Where the list holding a provider was written ("src/app.ts:7"): the app's own (module undefined) or a module's. Names both lists of a duplicate. */
  listedAt?: (module: string | undefined) => string | undefined
}

/**
 * The typed dependency-injection container. It validates the whole graph when built (every
 * problem in one error), then builds instances lazily: nothing is constructed until resolved.
 *
 * @example
 * const container = new Container([systemClock, users, signup])
 * const service = container.get(signup)
 * const db = await container.resolve(Database) // async factories
 */
export class Container implements AsyncDisposable {
  /** @internal */
  readonly graph: Graph
  readonly #storage = new AsyncLocalStorage<Scope>()
  readonly #accessors = new Map<Edge, () => unknown>()
  /** Singletons in build order, and transients built outside any scope, for disposal: node, instance, node, instance, ... */
  readonly #built: unknown[] = []
  #generation = 0
  #walks = 0

  constructor(providers: readonly AnyProvider[], options: ContainerOptions = {}) {
    const { graph, problems } = buildGraph(providers, options.overrides, options.contextual, options.scopes, options.listedAt)
    assertValidGraph(problems)
    this.graph = graph
    for (const node of graph.nodes) {
      const slot = (node.reg as { slot?: number }).slot
      if (slot !== undefined) this.#bySlot[slot] = node
    }
  }

  /** Nodes by their component's slot: on the warm path an array index is cheaper than a Map lookup. */
  readonly #bySlot: Node[] = []

  /** Every problem of a set of providers, without building a container. */
  static validate(providers: readonly AnyProvider[], options: ContainerOptions = {}): GraphProblem[] {
    return buildGraph(providers, options.overrides, options.contextual, options.scopes, options.listedAt).problems
  }

  /**
   * Whether any provider lives in the named scope. A server opens a request scope only when
   * something can live in it, sparing every request the AsyncLocalStorage cost otherwise.
   *
   * @example
   * const scoped = container.usesScope('request')
   */
  usesScope(name: string): boolean {
    return this.graph.nodes.some((node) => node.lifetime === 'scoped' && node.reg.scope === name)
  }

  /** Whether some provider provides the token. */
  has(target: AnyToken): boolean {
    return target.kind === 'multi' ? this.graph.multi.has(target.id) : this.graph.single.has(target.id) || this.graph.contextual.has(target.id)
  }

  /**
   * Resolves a token synchronously. Throws PLINTH_ERR_ASYNC_PROVIDER when something on the way
   * has an async factory and is not built yet; use `resolve` then.
   */
  get<Tk extends AnyToken>(target: Tk): ValueOf<Tk> {
    const slot = (target as { slot?: number }).slot
    if (slot !== undefined) {
      const node = this.#bySlot[slot]
      if (node !== undefined && node.state === 'built' && node.reg.provides.id === target.id) return node.instance as ValueOf<Tk>
    }
    if (target.kind === 'token') {
      const node = this.graph.single.get(target.id)
      if (node !== undefined && node.state === 'built') return node.instance as ValueOf<Tk>
    }
    return this.#produce(target, false) as ValueOf<Tk>
  }

  /** Resolves a token, awaiting async factories on the way. */
  resolve<Tk extends AnyToken>(target: Tk): Promise<ValueOf<Tk>> {
    try {
      return Promise.resolve(this.#produce(target, true) as ValueOf<Tk>)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** The innermost active scope, if any. */
  currentScope(): Scope | undefined {
    return this.#storage.getStore()
  }

  /** Opens a scope nested in the active one. End it with `dispose()` (or `await using`). */
  createScope(name: string): Scope {
    return new Scope(name, this.#storage.getStore(), this.#storage)
  }

  /**
   * Runs `fn` in a new scope and disposes the scope when `fn` settles.
   *
   * @example
   * await container.runInScope('request', async () => (await container.resolve(Handler)).handle())
   */
  async runInScope<R>(name: string, fn: (scope: Scope) => R | Promise<R>): Promise<R> {
    const scope = this.createScope(name)
    try {
      return await scope.run(() => fn(scope))
    } finally {
      await scope.dispose()
    }
  }

  /** Disposes every built singleton and unscoped transient, newest first. */
  async dispose(): Promise<void> {
    const built = this.#built.splice(0)
    for (const node of this.graph.nodes) {
      if (node.state !== 'unbuilt') {
        node.state = 'unbuilt'
        node.instance = undefined
        node.error = undefined
        node.pending = undefined
      }
    }
    this.#generation++
    await disposeBuilt(built)
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose()
  }

  /** @internal Builds one singleton whose singleton dependencies are already settled (used by the lifecycle). */
  buildSingleton(node: Node): Promise<unknown> {
    return Promise.resolve().then(() => this.#ensureSingleton(node, true))
  }

  /** @internal Marks a singleton failed so that dependents see it as failed (optional ones get undefined). */
  markFailed(node: Node, error: unknown): void {
    node.state = 'failed'
    node.error = error
    node.instance = undefined
    node.pending = undefined
  }

  /** @internal Forgets a built singleton after its component was stopped by a rollback. */
  forget(node: Node): void {
    node.state = 'unbuilt'
    node.instance = undefined
    node.pending = undefined
    this.#generation++
  }

  #missing(target: AnyToken): never {
    const suggestion = closest(target.name, this.graph.nodes.map((n) => n.name))
    throw new PlinthError(
      'PLINTH_ERR_MISSING_PROVIDER',
      `nothing provides "${target.name}" (token declared at ${target.site})${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
    )
  }

  #produce(target: AnyToken, async: boolean): unknown {
    if (target.kind === 'multi') {
      const nodes = this.graph.multi.get(target.id) ?? []
      const values = nodes.map((node) => this.#produceNode(node, async))
      return async && values.some(isThenable) ? Promise.all(values) : values
    }
    const node = this.graph.single.get(target.id)
    if (node === undefined) {
      const factory = this.graph.contextual.get(target.id)
      if (factory) return factory(undefined as unknown as Node)
      return this.#missing(target)
    }
    return this.#produceNode(node, async)
  }

  #produceNode(node: Node, async: boolean): unknown {
    switch (node.lifetime) {
      case 'singleton':
        return node.state === 'built' ? node.instance : this.#ensureSingleton(node, async)
      case 'transient':
        return this.#exec(this.#program(node), async)
      case 'scoped': {
        const scope = this.#scopeFor(node)
        return scope.instances.has(node) ? scope.instances.get(node) : this.#buildScoped(node, scope, async)
      }
    }
  }

  #program(node: Node): Program {
    return (node.program ??= compile(node)) as Program
  }

  #scopeFor(node: Node): Scope {
    let scope = this.#storage.getStore()
    while (scope !== undefined && scope.name !== node.reg.scope) scope = scope.parent
    if (scope === undefined) {
      throw new PlinthError(
        'PLINTH_ERR_NO_SCOPE',
        `"${node.name}" (${node.reg.site}) lives in the "${node.reg.scope}" scope, and no "${node.reg.scope}" scope is active here`,
      )
    }
    if (scope.disposed) {
      throw new PlinthError('PLINTH_ERR_SCOPE_DISPOSED', `"${node.name}" was resolved in a "${scope.name}" scope that has already ended`)
    }
    return scope
  }

  #buildScoped(node: Node, scope: Scope, async: boolean): unknown {
    const result = this.#exec(this.#program(node), async)
    const store = (instance: unknown) => {
      // Two concurrent async resolutions may race; the first one stored wins.
      if (scope.instances.has(node)) return scope.instances.get(node)
      scope.instances.set(node, instance)
      scope.created.push([node, instance])
      return instance
    }
    return isThenable(result) ? Promise.resolve(result).then(store) : store(result)
  }

  /**
   * Builds a singleton and, first, every unbuilt singleton it needs, dependencies first. The
   * order is computed iteratively; failures are recorded on their nodes so that optional
   * dependents can go on without them.
   */
  #ensureSingleton(node: Node, async: boolean): unknown {
    if (node.state === 'built') return node.instance
    if (node.state === 'failed') throw node.error
    if (node.pending) {
      // The pending build settles the node; the instance (or the failure) is on it afterwards.
      if (async) return node.pending.then(() => (node.state === 'failed' ? Promise.reject(node.error as Error) : node.instance))
      throw new PlinthError('PLINTH_ERR_ASYNC_PROVIDER', `"${node.name}" (${node.reg.site}) is still being built asynchronously; await container.resolve() it`)
    }
    const order = unbuiltSingletons(++this.#walks, (node) => this.#program(node), node)
    for (let i = 0; i < order.length; i++) {
      const current = order[i]!
      // A dependency another resolve is still building: wait for it rather than build what needs it without it.
      if (current.pending) {
        if (!async) throw new PlinthError('PLINTH_ERR_ASYNC_PROVIDER', `"${current.name}" (${current.reg.site}) is still being built asynchronously; await container.resolve() it`)
        return this.#finishAsync(order, i, current.pending, node)
      }
      if (current.state !== 'unbuilt') continue
      const result = this.#buildOne(current, async)
      if (isThenable(result)) return this.#finishAsync(order, i, result, node)
    }
    if ((node.state as Node['state']) === 'failed') throw node.error
    return node.instance
  }

  async #finishAsync(order: Node[], from: number, first: PromiseLike<unknown>, node: Node): Promise<unknown> {
    await first
    for (let i = from + 1; i < order.length; i++) {
      const current = order[i]!
      if (current.state === 'unbuilt') await this.#buildOne(current, true)
      else if (current.pending) await current.pending
    }
    if (node.state === 'failed') throw node.error
    return node.instance
  }

  /** Builds one singleton; returns a promise when its factory is async. Never throws: failures land on the node. */
  #buildOne(node: Node, async: boolean): unknown {
    let result: unknown
    try {
      result = node.direct ? buildDirect(node, async) : this.#exec(this.#program(node), async)
    } catch (error) {
      if (!async && error instanceof PlinthError && error.code === 'PLINTH_ERR_ASYNC_PROVIDER') throw error
      this.markFailed(node, error)
      return undefined
    }
    if (!isThenable(result)) {
      this.#settle(node, result)
      return undefined
    }
    node.state = 'building'
    const pending = Promise.resolve(result).then(
      (instance) => this.#settle(node, instance),
      (error: unknown) => this.markFailed(node, error),
    )
    node.pending = pending
    return pending
  }

  #settle(node: Node, instance: unknown): void {
    node.instance = instance
    node.state = 'built'
    node.pending = undefined
    this.#built.push(node, instance)
  }

  /** Makes sure a program's singletons and scoped instances exist; returns a promise if that needs async work. */
  #prepare(program: Program, async: boolean): unknown {
    if (program.warm !== this.#generation) {
      for (const dep of program.singletons) {
        if (dep.state === 'built') continue
        const result = this.#ensureSingletonTolerant(dep, async, program)
        if (isThenable(result)) return Promise.resolve(result).then(() => this.#prepare(program, async))
      }
      for (const dep of program.singletons) {
        if (dep.state !== 'built' && !isOptionalIn(program, dep)) {
          throw new PlinthError('PLINTH_ERR_DEPENDENCY_FAILED', `"${dep.name}" (${dep.reg.site}) failed to build`, { cause: dep.error })
        }
      }
      if (program.singletons.every((dep) => dep.state === 'built')) program.warm = this.#generation
    }
    if (program.scoped.length === 0) return undefined
    let chain: Promise<unknown> | undefined
    for (const dep of program.scoped) {
      const scope = this.#scopeFor(dep)
      if (scope.instances.has(dep)) continue
      if (chain) chain = chain.then(() => (scope.instances.has(dep) ? undefined : this.#buildScoped(dep, scope, true)))
      else {
        const result = this.#buildScoped(dep, scope, async)
        if (isThenable(result)) chain = Promise.resolve(result)
      }
    }
    return chain
  }

  #ensureSingletonTolerant(node: Node, async: boolean, program: Program): unknown {
    try {
      const result = this.#ensureSingleton(node, async)
      return isThenable(result) ? Promise.resolve(result).catch((error: unknown) => this.#tolerate(error, node, program)) : result
    } catch (error) {
      return this.#tolerate(error, node, program)
    }
  }

  #tolerate(error: unknown, node: Node, program: Program): undefined {
    if (error instanceof PlinthError && error.code === 'PLINTH_ERR_ASYNC_PROVIDER') throw error
    if (!isOptionalIn(program, node)) throw new PlinthError('PLINTH_ERR_DEPENDENCY_FAILED', `"${node.name}" (${node.reg.site}) failed to build`, { cause: error })
    return undefined
  }

  /** Runs a program: the loop that builds a node and its transient subtree. */
  #exec(program: Program, async: boolean): unknown {
    if (program.warm !== this.#generation || program.scoped.length > 0) {
      const prepared = this.#prepare(program, async)
      if (isThenable(prepared)) return Promise.resolve(prepared).then(() => this.#run(program, 0, new Array(program.steps.length), true))
    }
    return this.#run(program, 0, new Array(program.steps.length), async)
  }

  #run(program: Program, from: number, values: unknown[], async: boolean): unknown {
    const steps = program.steps
    let i = from
    try {
      for (; i < steps.length; i++) {
        const step = steps[i]!
        switch (step.op) {
          case Op.Create: {
            const value = step.create(step.make(values) as never)
            if (step.mayBeAsync && isThenable(value)) {
              if (!async) {
                throw new PlinthError(
                  'PLINTH_ERR_ASYNC_PROVIDER',
                  `"${step.node.name}" (${step.node.reg.site}) has an async factory; resolve it with await container.resolve(), or depend on it from a component built at start`,
                )
              }
              return this.#resume(program, i, values, value)
            }
            values[i] = value
            if (step.track !== Track.Never && (step.track === Track.Always || hasDispose(value))) this.#record(step.node, value)
            break
          }
          case Op.Singleton:
            values[i] = step.node.instance
            break
          case Op.OptionalSingleton:
            values[i] = step.node.state === 'built' ? step.node.instance : undefined
            break
          case Op.Scoped:
            values[i] = this.#scopeFor(step.node).instances.get(step.node)
            break
          case Op.Multi:
            values[i] = step.items.map((slot) => values[slot])
            break
          case Op.Accessor:
            values[i] = this.#accessor(step.edge)
            break
          case Op.Contextual:
            values[i] = step.value ??= this.graph.contextual.get(step.edge.token.id)!(step.requester)
            break
          case Op.Undefined:
            values[i] = undefined
            break
        }
      }
    } catch (error) {
      throw createFailure(error, steps[i])
    }
    return values[steps.length - 1]
  }

  async #resume(program: Program, at: number, values: unknown[], pending: PromiseLike<unknown>): Promise<unknown> {
    const step = program.steps[at] as { op: Op.Create; node: Node }
    try {
      values[at] = await pending
    } catch (error) {
      throw createFailure(error, step)
    }
    if (step.node.lifetime === 'transient') this.#track(step.node, values[at])
    return this.#run(program, at + 1, values, true)
  }

  #record(node: Node, instance: unknown): void {
    const scope = this.#storage.getStore()
    if (scope) scope.created.push([node, instance])
    else this.#built.push(node, instance)
  }

  #track(node: Node, instance: unknown): void {
    if (node.reg.dispose || hasDispose(instance)) this.#record(node, instance)
  }

  #accessor(edge: Edge): () => unknown {
    let fn = this.#accessors.get(edge)
    if (fn === undefined) {
      const target = edge.token as Token | MultiToken
      fn = () => this.get(target)
      this.#accessors.set(edge, fn)
    }
    return fn
  }
}
