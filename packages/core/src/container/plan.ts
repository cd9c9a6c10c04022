import { PlinthError } from '../errors.js'
import { assemblerFor, inOrder } from './deps-object.js'
import { postOrder, type Edge, type Node } from './graph.js'
import { isThenable } from './scope.js'

/**
 * A flat build program for one node: the transient subtree it needs, in post-order, with every
 * dependency referenced by its slot in a value array. Running it is a loop, not a recursion, so
 * depth is bounded by memory rather than by the call stack, and a warm run allocates only the
 * value array, the deps objects and the instances themselves.
 */
export interface Program {
  readonly steps: Step[]
  /** Singletons the program reads; they are built before it runs. */
  readonly singletons: Node[]
  /** Scoped nodes the program reads, dependencies first; they are looked up or built in the active scope first. */
  readonly scoped: Node[]
  /** Container generation in which every singleton above was last seen built. */
  warm: number
}

/** Whether a transient instance is recorded for disposal: never, always, or when it has a dispose method. */
export const enum Track {
  Never,
  Always,
  Check,
}

/** Decided once per node: a class's prototype says whether its instances are disposable. */
function trackOf(node: Node): Track {
  if (node.lifetime !== 'transient') return Track.Never
  if (node.reg.dispose) return Track.Always
  const Class = node.reg.construct
  if (!Class) return Track.Check
  const proto = Class.prototype as object
  return Symbol.asyncDispose in proto || Symbol.dispose in proto ? Track.Always : Track.Never
}

const OWN_CALL_SITES_UP_TO = 1_000
const callSites = new WeakMap<object, (deps: never) => unknown>()
let sites = 0

/**
 * How a program builds a node. A transient class gets a constructor call of its own: through the
 * provider's shared `(deps) => new Class(deps)`, every class meets V8 at one call site, which goes
 * megamorphic and cannot inline a constructor; a call site per class stays monomorphic, so the
 * constructor and its field initialisers are inlined with the instance's shape known. The unique
 * comment keeps V8's compilation cache from sharing one function (and its feedback) between
 * classes. Singletons are built once, so they keep the shared one.
 */
function createOf(node: Node): (deps: never) => unknown {
  if (node.lifetime !== 'transient') return node.reg.create as (deps: never) => unknown
  const Class = node.reg.construct
  if (!Class) return node.reg.create as (deps: never) => unknown
  let create = callSites.get(Class)
  if (create === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed body; the class is an argument
    create = new Function('C', `return function create(deps) { return new C(deps) } // ${sites++}`)(Class) as (deps: never) => unknown
    callSites.set(Class, create)
  }
  return create
}

export const enum Op {
  Create,
  Singleton,
  Scoped,
  OptionalSingleton,
  Multi,
  Accessor,
  Contextual,
  Undefined,
}

export type Step =
  | { op: Op.Create; node: Node; create: (deps: never) => unknown; make: (values: unknown[]) => object; mayBeAsync: boolean; track: Track }
  | { op: Op.Singleton | Op.Scoped | Op.OptionalSingleton; node: Node }
  | { op: Op.Multi; items: number[] }
  | { op: Op.Accessor; edge: Edge }
  | { op: Op.Contextual; edge: Edge; requester: Node; value?: unknown }
  | { op: Op.Undefined }

/** The deps object of a Create step, from the values at `slots`. */
function compileMake(keys: string[], slots: number[]): (values: unknown[]) => object {
  const assemble = assemblerFor(keys)
  return (values) => assemble(values, slots)
}

/** Compiles the program that builds `root`, iteratively. */
export function compile(root: Node): Program {
  const steps: Step[] = []
  const singletons = new Set<Node>()
  const scoped = new Set<Node>()
  // Each frame expands one node: its edges are visited in order, then its own Create step is emitted.
  type Frame = { node: Node; edge: number; slots: number[]; multi?: { edgeIndex: number; next: number; items: number[] } }
  const frames: Frame[] = [{ node: root, edge: 0, slots: [] }]

  const leaf = (node: Node, optionalEdge: boolean): number | undefined => {
    if (node === root) return undefined
    if (node.lifetime === 'transient') return undefined // expand
    if (node.lifetime === 'scoped') {
      scoped.add(node)
      steps.push({ op: Op.Scoped, node })
    } else {
      singletons.add(node)
      steps.push({ op: optionalEdge ? Op.OptionalSingleton : Op.Singleton, node })
    }
    return steps.length - 1
  }

  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!
    const { node } = frame
    if (frame.edge === node.edges.length) {
      frames.pop()
      steps.push({ op: Op.Create, node, create: node.reg.create as (deps: never) => unknown, make: compileMake(node.edges.map((e) => e.key), frame.slots), mayBeAsync: !node.reg.construct, track: trackOf(node) })
      const parent = frames[frames.length - 1]
      if (parent) deliver(parent, steps.length - 1)
      continue
    }
    const edge = node.edges[frame.edge]!
    if (edge.kind === 'accessor') {
      steps.push({ op: Op.Accessor, edge })
      deliver(frame, steps.length - 1)
      continue
    }
    if (edge.kind === 'contextual') {
      steps.push({ op: Op.Contextual, edge, requester: node })
      deliver(frame, steps.length - 1)
      continue
    }
    if (edge.kind === 'multi') {
      frame.multi ??= { edgeIndex: frame.edge, next: 0, items: [] }
      const m = frame.multi
      if (m.next === edge.targets.length) {
        steps.push({ op: Op.Multi, items: m.items })
        frame.multi = undefined
        deliver(frame, steps.length - 1)
        continue
      }
      const target = edge.targets[m.next++]!
      const slot = leaf(target, false)
      if (slot === undefined) frames.push({ node: target, edge: 0, slots: [] })
      else m.items.push(slot)
      continue
    }
    const target = edge.targets[0]
    if (target === undefined) {
      steps.push({ op: Op.Undefined })
      deliver(frame, steps.length - 1)
      continue
    }
    const slot = leaf(target, edge.kind === 'optional')
    if (slot === undefined) frames.push({ node: target, edge: 0, slots: [] })
    else deliver(frame, slot)
  }
  // Compiling a call site costs tens of microseconds: worth it for the transient trees of a request,
  // not for a ten-thousand-class chain resolved once.
  if (steps.length <= OWN_CALL_SITES_UP_TO) for (const step of steps) if (step.op === Op.Create) step.create = createOf(step.node)
  return { steps, singletons: [...singletons], scoped: orderScoped([...scoped]), warm: -1 }

  function deliver(frame: Frame, slot: number) {
    if (frame.multi) {
      frame.multi.items.push(slot)
      return
    }
    frame.slots.push(slot)
    frame.edge++
  }
}

/** Scoped nodes needed by a program, with the scoped nodes they need, dependencies first. */
function orderScoped(direct: Node[]): Node[] {
  return direct.length === 0 ? direct : postOrder(direct, scopedReachedFrom)
}

/** The scoped nodes a node's construction reads, looking through transients. */
function scopedReachedFrom(node: Node): Node[] {
  const found: Node[] = []
  const seen = new Set<Node>([node])
  const stack = [node]
  while (stack.length > 0) {
    for (const edge of stack.pop()!.edges) {
      if (edge.kind === 'accessor' || edge.kind === 'contextual') continue
      for (const target of edge.targets) {
        if (seen.has(target)) continue
        seen.add(target)
        if (target.lifetime === 'scoped') found.push(target)
        else if (target.lifetime === 'transient') stack.push(target)
      }
    }
  }
  return found
}

/**
 * Unbuilt singletons that `root` needs (itself last), dependencies first: a depth-first
 * post-order, iterative so that a 10 000-deep chain cannot overflow the stack. Nodes visited in
 * this walk carry its number in `mark`. Not graph.postOrder: this walk runs on the first resolve
 * of every container, and reading a direct node's edges in place, with a mark instead of a Set,
 * keeps it from allocating per node; postOrder's Set stays right for its callers, whose walks
 * may nest (compiling a program, which this walk does, runs one).
 */
export function unbuiltSingletons(walk: number, programOf: (node: Node) => Program, root: Node): Node[] {
  const out: Node[] = []
  const path: Node[] = [root]
  const next: number[] = [0]
  root.mark = walk
  while (path.length > 0) {
    const top = path.length - 1
    const node = path[top]!
    let i = next[top]!
    let dep: Node | undefined
    if (node.direct) {
      // Its edges lead to singletons or nowhere.
      const edges = node.edges
      while (i < edges.length) {
        const candidate = edges[i++]!.targets[0]
        if (candidate !== undefined && candidate.mark !== walk && candidate.state !== 'built') {
          dep = candidate
          break
        }
      }
    } else {
      const needs = programOf(node).singletons
      while (i < needs.length) {
        const candidate = needs[i++]!
        if (candidate.mark !== walk && candidate.state !== 'built') {
          dep = candidate
          break
        }
      }
    }
    if (dep === undefined) {
      path.pop()
      next.pop()
      out.push(node)
      continue
    }
    next[top] = i
    dep.mark = walk
    path.push(dep)
    next.push(0)
  }
  return out
}

/** Whether a program can run without `node` (it only reaches it through optional edges). */
export function isOptionalIn(program: Program, node: Node): boolean {
  for (const step of program.steps) {
    if (step.op === Op.Singleton && step.node === node) return false
  }
  return true
}

/** A factory's failure as PLINTH_ERR_CREATE_FAILED, naming the component and where it was declared. */
export function createFailure(error: unknown, step: { op: Op; node?: Node } | undefined): unknown {
  if (error instanceof PlinthError || step?.op !== Op.Create || !step.node) return error
  const node = step.node
  return new PlinthError(
    'PLINTH_ERR_CREATE_FAILED',
    `creating "${node.name}" (${node.reg.module ? `module "${node.reg.module}", ` : ''}${node.reg.site}) threw: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  )
}

/**
 * Builds a direct singleton without compiling a program: its deps object is its edges' built
 * instances. A program pays off for a transient subtree built many times; a singleton is built
 * once.
 */
export function buildDirect(node: Node, async: boolean): unknown {
  const edges = node.edges
  const values = new Array<unknown>(edges.length)
  for (let i = 0; i < edges.length; i++) {
    const edge = edges[i]!
    const target = edge.targets[0]
    if (target === undefined || (edge.kind === 'optional' && target.state !== 'built')) values[i] = undefined
    else if (target.state === 'built') values[i] = target.instance
    else throw new PlinthError('PLINTH_ERR_DEPENDENCY_FAILED', `"${target.name}" (${target.reg.site}) failed to build`, { cause: target.error })
  }
  const reg = node.reg
  let value: unknown
  try {
    // A registration made by provide() or component() brings its assembler; edges follow its deps' order.
    const deps = reg.assemble ? reg.assemble(values, inOrder(values.length)) : Object.fromEntries(edges.map((edge, i) => [edge.key, values[i]]))
    value = reg.create(deps as never)
  } catch (error) {
    throw createFailure(error, { op: Op.Create, node })
  }
  if (!isThenable(value)) return value
  if (!async) {
    throw new PlinthError(
      'PLINTH_ERR_ASYNC_PROVIDER',
      `"${node.name}" (${node.reg.site}) has an async factory; resolve it with await container.resolve(), or depend on it from a component built at start`,
    )
  }
  return Promise.resolve(value).catch((error: unknown) => {
    throw createFailure(error, { op: Op.Create, node })
  })
}

const cachedProgram = (node: Node) => (node.program ??= compile(node)) as Program

/** The singletons a node must have built before it: every one its program reads, and whether it needs it. */
export function singletonDeps(node: Node): Array<{ node: Node; required: boolean }> {
  const program = cachedProgram(node)
  return program.singletons.map((dep) => ({
    node: dep,
    required: program.steps.some((step) => step.op === Op.Singleton && step.node === dep),
  }))
}
