import { setMaxListeners } from 'node:events'
import type { Container } from '../container/container.js'
import { PlinthError, describe } from '../errors.js'
import type { CriticalStep, EventStream, LifecycleEvent } from './events.js'
import { postOrder, type Node } from '../container/graph.js'
import type { Logger } from '../logging/logger.js'
import { withDeadline } from './deadline.js'
import { singletonDeps } from '../container/plan.js'
import { thrownAt, type Site } from '../container/site.js'
import { backoffDelay, resolveRetry, sleep } from './retry.js'
import { neverStartedLine } from './never-started.js'

export type ComponentState = 'pending' | 'starting' | 'started' | 'degraded' | 'failed' | 'stopping' | 'stopped'

/** What the lifecycle knows of one component. */
export interface ComponentStatus {
  readonly name: string
  readonly module: string | undefined
  readonly site: Site
  state: ComponentState
  instance: unknown
  error: unknown
  /** Why a started component runs degraded, when its start said so (`context.degraded`). */
  degradedBy?: unknown
  /** performance.now() when its start began and ended. */
  startedAt: number
  readyAt: number
  createDuration: number
  startDuration: number
  attempts: number
  /** @internal */
  readonly node: Node
}

export interface LifecycleOptions {
  /** Per-component start deadline when the component sets none. Default 30 000 ms. */
  startTimeout?: number
  /** Per-component stop deadline when the component sets none. Default 10 000 ms. */
  stopTimeout?: number
}

export interface StopReport {
  /** Components that had not finished stopping when the overall deadline passed. */
  readonly unfinished: string[]
  readonly failures: { component: string; error: unknown }[]
  readonly duration: number
}

const now = () => performance.now()

/**
 * Starts the components an app needs in dependency order, concurrently where they are
 * independent, so boot takes the critical path and not the sum; stops them in reverse.
 */
export class Lifecycle {
  readonly #container: Container
  readonly #events: EventStream<LifecycleEvent>
  readonly #log: (component: string, module: string | undefined) => Logger
  readonly #options: Required<LifecycleOptions>
  readonly #status = new Map<Node, ComponentStatus>()
  /** Started components in the order they finished starting. */
  #started: ComponentStatus[] = []
  /** Aborts a start in progress: no further component starts, and what started is rolled back. */
  #abort = new AbortController()

  constructor(
    container: Container,
    events: EventStream<LifecycleEvent>,
    log: (component: string, module: string | undefined) => Logger,
    options: LifecycleOptions = {},
    /** Where the options were set (the createApp call), read only when a message names it: formatting a site costs a source map. */
    optionsSite?: () => string | undefined,
  ) {
    this.#optionsSite = optionsSite
    this.#container = container
    this.#events = events
    this.#log = log
    this.#options = { startTimeout: options.startTimeout ?? 30_000, stopTimeout: options.stopTimeout ?? 10_000 }
    this.#given = options
  }

  readonly #given: LifecycleOptions
  readonly #optionsSite: (() => string | undefined) | undefined

  /** Where a component's deadline was set, for the timeout's message: its own option, the app's lifecycle option (at optionsSite, the createApp call), or the default. */
  #deadlineSource(node: Node, which: 'startTimeout' | 'stopTimeout'): string {
    if (node.reg[which] !== undefined) return `its own ${which}, set at ${node.reg.site}`
    const site = this.#optionsSite?.()
    if (this.#given[which] !== undefined) return `the app's lifecycle.${which}${site ? `, set at ${site}` : ''}`
    return `the default lifecycle.${which}; set the component's ${which} or the app's lifecycle.${which}`
  }

  /**
   * Interrupts a start in progress (a shutdown during boot): nothing further starts, what had
   * started is stopped again, and start() rejects.
   */
  abort(reason: string): void {
    this.#abort.abort(new PlinthError('PLINTH_ERR_BOOT_FAILED', reason))
  }

  /** Every component of the boot set with its state. */
  components(): ComponentStatus[] {
    return [...this.#status.values()]
  }

  /** The singletons booted at start: eager ones and all they need, dependencies first. */
  bootSet(): Node[] {
    const eager = this.#container.graph.nodes.filter((n) => n.lifetime === 'singleton' && n.reg.eager)
    return postOrder(eager, (node) => singletonDeps(node).map((d) => d.node))
  }


  /**
   * Builds and starts the boot set. A required component's failure rolls back what had started,
   * in reverse, and rejects with one error naming every failure; an optional one's degrades.
   */
  async start(): Promise<{ duration: number; criticalPath: CriticalStep[]; degraded: string[] }> {
    const began = now()
    const nodes = this.bootSet()
    const inSet = new Set(nodes)
    const waiting = new Map<Node, number>()
    const dependents = new Map<Node, Node[]>()
    const unblockedBy = new Map<Node, Node>()
    for (const node of nodes) {
      this.#status.set(node, {
        name: node.name,
        module: node.reg.module,
        site: node.reg.site,
        state: 'pending',
        instance: undefined,
        error: undefined,
        startedAt: 0,
        readyAt: 0,
        createDuration: 0,
        startDuration: 0,
        attempts: 0,
        node,
      })
      const deps = singletonDeps(node).filter((d) => inSet.has(d.node))
      waiting.set(node, deps.length)
      for (const dep of deps) dependents.set(dep.node, [...(dependents.get(dep.node) ?? []), node])
    }

    const abort = (this.#abort = new AbortController())
    setMaxListeners(0, abort.signal) // one listener per component starting at once
    const failures: { component: string; error: unknown }[] = []
    const degraded: string[] = []
    const running = new Set<Promise<void>>()

    await new Promise<void>((resolveAll) => {
      let remaining = nodes.length
      if (remaining === 0) return resolveAll()
      const settle = (node: Node) => {
        remaining--
        for (const dependent of dependents.get(node) ?? []) {
          const left = waiting.get(dependent)! - 1
          waiting.set(dependent, left)
          if (left === 0) {
            unblockedBy.set(dependent, node)
            launch(dependent)
          }
        }
        if (remaining === 0) resolveAll()
      }
      const launch = (node: Node) => {
        if (abort.signal.aborted) return settleSkipped(node)
        const task = this.#startOne(node, abort.signal).then(
          () => {
            const { degradedBy } = this.#status.get(node)!
            if (degradedBy === undefined) return
            degraded.push(node.name)
            this.#events.emit({ type: 'component-degraded', component: node.name, module: node.reg.module, reason: describe(degradedBy), error: degradedBy, at: now() })
          },
          (error: unknown) => {
            const status = this.#status.get(node)!
            status.error = error
            this.#container.markFailed(node, error)
            if (node.reg.optional) {
              status.state = 'degraded'
              degraded.push(node.name)
              this.#events.emit({ type: 'component-degraded', component: node.name, module: node.reg.module, reason: describe(error), error, at: now() })
            } else {
              status.state = 'failed'
              failures.push({ component: node.name, error })
              abort.abort(new PlinthError('PLINTH_ERR_BOOT_FAILED', `start-up abandoned: "${node.name}" failed`))
            }
          },
        )
        running.add(task)
        void task.finally(() => {
          running.delete(task)
          settle(node)
        })
      }
      // Nodes never launched because start-up was abandoned still count down, so the wait ends.
      const settleSkipped = (node: Node) => queueMicrotask(() => settle(node))
      for (const node of nodes) if (waiting.get(node) === 0) launch(node)
    })

    if (failures.length > 0 || abort.signal.aborted) {
      // Taken before the rollback stops them: the report says what was undone (what has a hook to undo: not the config value) and what never ran.
      const rolledBack = nodes.filter((n) => this.#status.get(n)?.state === 'started' && (n.reg.start ?? n.reg.stop) !== undefined).map((n) => n.name)
      const neverStarted = nodes.filter((n) => this.#status.get(n)?.state === 'pending')
      const rollbackBegan = now()
      this.#events.emit({ type: 'rolling-back', failures, at: rollbackBegan })
      const report = await this.stop(Number.POSITIVE_INFINITY)
      this.#events.emit({ type: 'rolled-back', duration: now() - rollbackBegan, at: now() })
      for (const node of nodes) if (this.#status.get(node)?.state !== 'started') this.#container.forget(node)
      if (failures.length === 0) {
        throw new PlinthError('PLINTH_ERR_BOOT_FAILED', `start-up interrupted (${describe(abort.signal.reason)}); everything that had started was stopped again`)
      }
      // A failure of Plinth's own making (a deadline) carries its own fix; a thrown error's is the boot hint's.
      const fix = (error: unknown) => (error instanceof PlinthError && error.code !== 'PLINTH_ERR_START_FAILED' ? [`    fix: ${error.hint}`] : [])
      const lines = failures.flatMap((f) => [`  - ${f.component}: ${describe(f.error)}`, ...fix(f.error)])
      for (const f of report.failures) lines.push(`  - while rolling back, ${f.component} failed to stop: ${describe(f.error)}`)
      lines.push(`  rolled back (started, then stopped again): ${rolledBack.join(', ') || '(nothing had started)'}`)
      const failedDeps = (node: Node) => singletonDeps(node).filter((d) => this.#status.get(d.node)?.state === 'failed').map((d) => d.node.name)
      if (neverStarted.length > 0) lines.push(`  ${neverStartedLine(neverStarted.map((n) => ({ name: n.name, waitsOn: failedDeps(n) })))}`)
      throw new PlinthError(
        'PLINTH_ERR_BOOT_FAILED',
        `start-up failed (${failures.length} component${failures.length === 1 ? '' : 's'}); everything that had started was stopped again:\n${lines.join('\n')}`,
        { cause: failures.length === 1 ? failures[0]!.error : new AggregateError(failures.map((f) => f.error), `${failures.map((f) => f.component).join(', ')} failed to start`), details: { failures } },
      )
    }

    const duration = now() - began
    const criticalPath = this.#criticalPath(nodes, unblockedBy)
    return { duration, criticalPath, degraded }
  }

  /** What stops only after `node` (its dependencies, still running) and so was kept waiting by it. */
  #waitingToStop(node: Node): string {
    const waiting = singletonDeps(node)
      .map((d) => d.node)
      .filter((dep) => this.#status.get(dep)?.state === 'started')
    return waiting.length > 0 ? `; still waiting on it to stop: ${waiting.map((d) => d.name).join(', ')}` : ''
  }

  async #startOne(node: Node, bootSignal: AbortSignal): Promise<void> {
    const status = this.#status.get(node)!
    const { reg } = node
    const failedDep = singletonDeps(node).find((d) => d.required && d.node.state === 'failed')
    if (failedDep) {
      throw new PlinthError('PLINTH_ERR_DEPENDENCY_FAILED', `"${node.name}" needs "${failedDep.node.name}", which failed`, { cause: failedDep.node.error })
    }
    const policy = resolveRetry(reg.retry)
    const timeout = reg.startTimeout ?? this.#options.startTimeout
    const logFor = this.#hookLog(node)
    status.state = 'starting'
    status.startedAt = now()
    for (let attempt = 1; ; attempt++) {
      status.attempts = attempt
      const attemptBegan = now()
      this.#events.emit({ type: 'component-starting', component: node.name, module: reg.module, attempt, at: attemptBegan })
      try {
        await withDeadline(
          timeout,
          bootSignal,
          () => new PlinthError('PLINTH_ERR_START_TIMEOUT', `"${node.name}" (${reg.site}) did not start within ${timeout} ms (${this.#deadlineSource(node, 'startTimeout')})`),
          async (signal) => {
            const createBegan = now()
            const instance = node.state === 'built' ? node.instance : await this.#container.buildSingleton(node)
            if (node.state === 'failed') throw node.error
            status.instance = instance
            status.createDuration = now() - createBegan
            const startBegan = now()
            status.degradedBy = undefined
            if (reg.start) {
              const degraded = (reason: unknown) => void (status.degradedBy = reason ?? 'degraded')
              await reg.start(instance, { signal, attempt, get log() { return logFor() }, degraded })
            }
            status.startDuration = now() - startBegan
          },
          { waitOnAbort: true },
        )
        status.state = 'started'
        status.readyAt = now()
        this.#started.push(status)
        this.#events.emit({
          type: 'component-started',
          component: node.name,
          module: reg.module,
          duration: status.readyAt - status.startedAt,
          createDuration: status.createDuration,
          startDuration: status.startDuration,
          attempts: attempt,
          at: status.readyAt,
        })
        return
      } catch (raw) {
        const error = wrapStartError(node, raw)
        const retryIn = attempt < policy.attempts && !bootSignal.aborted ? backoffDelay(policy, attempt) : undefined
        this.#events.emit({ type: 'component-failed', component: node.name, module: reg.module, duration: now() - attemptBegan, attempt, error, retryIn, at: now() })
        if (retryIn === undefined) throw error
        if (node.state === 'failed') this.#container.forget(node)
        await sleep(retryIn, bootSignal)
      }
    }
  }

  /** A hook's `log`, made on first read: a pino child() per component adds up, and most hooks never log. */
  #hookLog(node: Node): () => Logger {
    let log: Logger | undefined
    return () => (log ??= this.#log(node.name, node.reg.module))
  }

  #criticalPath(nodes: Node[], unblockedBy: Map<Node, Node>): CriticalStep[] {
    let last: ComponentStatus | undefined
    for (const node of nodes) {
      const status = this.#status.get(node)!
      if (status.state === 'started' && (!last || status.readyAt > last.readyAt)) last = status
    }
    const path: CriticalStep[] = []
    let node = last?.node
    while (node) {
      const status = this.#status.get(node)!
      path.unshift({ component: node.name, duration: status.readyAt - status.startedAt })
      node = unblockedBy.get(node)
    }
    return path
  }

  /** Stops what started in reverse dependency order, concurrently where independent, each under its deadline, all under `deadline` ms. */
  async stop(deadline: number): Promise<StopReport> {
    const began = now()
    const started = this.#started.filter((s) => s.state === 'started')
    this.#started = []
    // A component stops once every started component that uses it has stopped.
    const dependencies = stopOrder(started.map((s) => s.node))
    const blockers = new Map<Node, number>()
    for (const deps of dependencies.values()) for (const dep of deps) blockers.set(dep, (blockers.get(dep) ?? 0) + 1)
    const failures: { component: string; error: unknown }[] = []
    const pending = new Set(started.map((s) => s.name))

    const all = new Promise<void>((resolveAll) => {
      let remaining = started.length
      if (remaining === 0) return resolveAll()
      const launch = (status: ComponentStatus) => {
        void this.#stopOne(status, failures).finally(() => {
          pending.delete(status.name)
          for (const dep of dependencies.get(status.node) ?? []) {
            const left = blockers.get(dep)! - 1
            blockers.set(dep, left)
            if (left === 0) launch(this.#status.get(dep)!)
          }
          if (--remaining === 0) resolveAll()
        })
      }
      for (const status of [...started].reverse()) if (!blockers.get(status.node)) launch(status)
    })

    let timer: NodeJS.Timeout | undefined
    const expired = Number.isFinite(deadline) ? new Promise<'expired'>((r) => (timer = setTimeout(() => r('expired'), deadline))) : new Promise<never>(() => {})
    await Promise.race([all, expired])
    clearTimeout(timer)
    // Components without a stop hook that were only waiting their turn have nothing left to do.
    const unfinished = started.filter((s) => pending.has(s.name) && (s.state === 'stopping' || s.node.reg.stop !== undefined)).map((s) => s.name)
    return { unfinished, failures, duration: now() - began }
  }

  async #stopOne(status: ComponentStatus, failures: { component: string; error: unknown }[]): Promise<void> {
    const { node } = status
    const began = now()
    status.state = 'stopping'
    this.#events.emit({ type: 'component-stopping', component: node.name, module: node.reg.module, at: began })
    const timeout = node.reg.stopTimeout ?? this.#options.stopTimeout
    try {
      if (node.reg.stop) {
        const reg = node.reg
        const logFor = this.#hookLog(node)
        await withDeadline(
          timeout,
          undefined,
          () => new PlinthError('PLINTH_ERR_STOP_TIMEOUT', `"${node.name}" (${node.reg.site}) did not stop within ${timeout} ms (${this.#deadlineSource(node, 'stopTimeout')})${this.#waitingToStop(node)}`),
          (signal) => reg.stop!(status.instance, { signal, get log() { return logFor() } }),
        )
      }
      status.state = 'stopped'
      this.#events.emit({ type: 'component-stopped', component: node.name, module: node.reg.module, duration: now() - began, at: now() })
    } catch (raw) {
      const at = thrownAt(raw)
      const error =
        raw instanceof PlinthError ? raw : new PlinthError('PLINTH_ERR_STOP_FAILED', `"${node.name}" (${node.reg.site}) failed to stop: ${describe(raw)}${at ? ` (thrown at ${at})` : ''}`, { cause: raw })
      status.state = 'stopped'
      status.error = error
      failures.push({ component: node.name, error })
      this.#events.emit({ type: 'component-stop-failed', component: node.name, module: node.reg.module, duration: now() - began, error, at: now() })
    }
  }
}

/**
 * What each started component must outlive: the started singletons it is built from, and also
 * those it reaches lazily (an accessor, an optional dependency, a scoped or transient handler
 * built per call), through any number of unstarted nodes. A server whose handlers reach the
 * database only through `accessor()` still stops before the database. Lazy edges are what break
 * construction cycles, so a lazy edge that would close a cycle in this order is left out: the
 * construction order wins.
 */
export function stopOrder(started: Node[]): Map<Node, Node[]> {
  const set = new Set(started)
  const order = new Map<Node, Node[]>()
  for (const node of started) order.set(node, singletonDeps(node).map((d) => d.node).filter((d) => set.has(d)))
  const reaches = (from: Node, to: Node): boolean => {
    const seen = new Set<Node>([from])
    const stack = [from]
    while (stack.length > 0) {
      for (const next of order.get(stack.pop()!) ?? []) {
        if (next === to) return true
        if (seen.has(next)) continue
        seen.add(next)
        stack.push(next)
      }
    }
    return false
  }
  for (const node of started) {
    const deps = order.get(node)!
    for (const used of usedLazily(node, set)) if (!deps.includes(used) && !reaches(used, node)) deps.push(used)
  }
  return order
}

/** The started nodes `node` reaches through any edge, looking through nodes that are not started. */
function usedLazily(node: Node, started: Set<Node>): Node[] {
  const found: Node[] = []
  const seen = new Set<Node>([node])
  const stack = [node]
  while (stack.length > 0) {
    for (const edge of stack.pop()!.edges) {
      for (const target of edge.targets) {
        if (seen.has(target)) continue
        seen.add(target)
        if (started.has(target)) found.push(target)
        else stack.push(target)
      }
    }
  }
  return found
}

function wrapStartError(node: Node, error: unknown): unknown {
  if (error instanceof PlinthError) return error
  const at = thrownAt(error)
  return new PlinthError('PLINTH_ERR_START_FAILED', `"${node.name}" (${node.reg.module ? `module "${node.reg.module}", ` : ''}${node.reg.site}) failed to start: ${describe(error)}${at ? ` (thrown at ${at})` : ''}`, {
    cause: error,
  })
}
