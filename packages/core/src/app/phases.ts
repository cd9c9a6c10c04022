import { Container, assertValidGraph, type ContainerOptions } from '../container/container.js'
import type { GraphProblem, Node } from '../container/graph.js'
import type { AnyProvider } from '../container/provider.js'
import type { Token } from '../container/token.js'
import { PlinthError, type PlinthErrorCode } from '../errors.js'
import type { EventStream, LifecycleEvent, Phase } from '../lifecycle/events.js'
import type { Lifecycle } from '../lifecycle/lifecycle.js'
import type { Logger } from '../logging/logger.js'
import { componentLogger } from '../logging/logging.js'
import type { ModuleRegistry } from '../modules/registry.js'
import type { ModuleResolution } from '../modules/resolution.js'

export { checkPorts } from '../server/port-check.js'

/** Runs one phase of start-up, announcing it, its duration and its failure on the app's events. */
export async function runPhase<T>(events: EventStream<LifecycleEvent>, phase: Phase, run: () => Promise<T> | T): Promise<T> {
  const began = performance.now()
  events.emit({ type: 'phase-started', phase, at: began })
  try {
    const result = await run()
    events.emit({ type: 'phase-completed', phase, duration: performance.now() - began, at: performance.now() })
    return result
  } catch (error) {
    events.emit({ type: 'phase-failed', phase, duration: performance.now() - began, error, at: performance.now() })
    throw error
  }
}

/** The validate phase: the container, or the graph's problems explained by module. */
export function validatedContainer(providers: AnyProvider[], options: ContainerOptions, modules: ModuleRegistry): Container {
  // new Container validates the graph; only an invalid one is built again, to explain its problems by module.
  try {
    return new Container(providers, options)
  } catch (error) {
    if (error instanceof PlinthError && error.code === 'PLINTH_ERR_INVALID_GRAPH') assertValidGraph(modules.explain(Container.validate(providers, options)))
    throw error
  }
}

/** Phase 2: module inits, once components have started; a required module's failure rolls back the start. */
export async function initModules(modules: ModuleRegistry, lifecycle: Lifecycle, container: Container, context: { dataDir: string; logger: Logger; events: EventStream<LifecycleEvent> }): Promise<void> {
  try {
    await modules.initialise({
      resolve: <T>(token: Token<T>) => container.resolve<Token<T>>(token),
      log: (module) => componentLogger(context.logger, 'init', module),
      dataDir: context.dataDir,
    })
  } catch (error) {
    const began = performance.now()
    context.events.emit({ type: 'rolling-back', failures: [{ component: 'module init', error }], at: began })
    await lifecycle.stop(Number.POSITIVE_INFINITY)
    context.events.emit({ type: 'rolled-back', duration: performance.now() - began, at: performance.now() })
    throw error
  }
}

/**
 * What check reports of the graph: modules left out (each with its reason) and the graph's
 * problems explained by module; when there are none, singletons with lifecycle hooks that never start.
 */
export function checkGraph(providers: AnyProvider[], kernel: ReadonlySet<AnyProvider>, options: ContainerOptions, modules: ModuleRegistry, bootSet: (container: Container) => Node[]): { problems: GraphProblem[]; warnings: string[] } {
  const excluded: ModuleResolution['excluded'] = modules.resolution().excluded
  const problems: GraphProblem[] = [
    ...excluded.map((x) => ({ code: x.error.code as PlinthErrorCode, message: `module "${x.id}" (${x.source}) is excluded: ${x.reason}`, token: x.id, module: x.id, site: x.source })),
    ...modules.explain(Container.validate(providers, options)),
  ]
  if (problems.length > 0) return { problems, warnings: [] }
  const container = new Container(providers, options)
  return { problems, warnings: neverStartedWarnings(container, kernel, new Set(bootSet(container))) }
}

/**
 * Singletons with lifecycle hooks that no eager component needs, so they never start. Warnings
 * speak of the user's code: the kernel's own components (health, metrics) start when something asks for them.
 */
function neverStartedWarnings(container: Container, kernel: ReadonlySet<AnyProvider>, booted: ReadonlySet<Node>): string[] {
  return container.graph.nodes
    .filter((node) => !kernel.has(node.reg as AnyProvider) && node.lifetime === 'singleton' && (node.reg.start || node.reg.stop) && !booted.has(node))
    .map((node) => `"${node.name}" (${node.reg.site}) has lifecycle hooks but no eager component needs it, so it never starts; mark it eager: true or depend on it`)
}
