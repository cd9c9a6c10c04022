import type { PlinthErrorCode } from './errors.js'
import type { AnyProvider, Lifetime, Registration } from './provider.js'
import type { Site } from './site.js'
import { anySharedName, isDependency, sharedName, type AnyToken, type Dependency } from './token.js'

/** One provider in the dependency graph, with its runtime state. */
export interface Node {
  readonly index: number
  readonly reg: Registration
  readonly name: string
  readonly lifetime: Lifetime
  readonly edges: readonly Edge[]
  /** Built lazily: see plan.ts. */
  program: unknown
  instance: unknown
  state: 'unbuilt' | 'building' | 'built' | 'failed'
  error: unknown
  pending: Promise<unknown> | undefined
  /**
   * A singleton whose every dependency is a plain or optional edge to another singleton (or to
   * nothing), as most components are: it is built straight from its edges, without a program.
   */
  direct: boolean
  /** `[this node]`, shared by every single edge that leads to it. */
  alone: readonly Node[] | undefined
  /** Scratch for one walk of the graph at a time (see Container). */
  mark: number
}

export type EdgeKind = 'single' | 'multi' | 'optional' | 'accessor' | 'contextual'

export interface Edge {
  readonly key: string
  readonly kind: EdgeKind
  readonly token: AnyToken
  /** The providers the edge leads to: one for single and optional (none when absent), all for multi. */
  readonly targets: readonly Node[]
  /** For accessors: whether the target is a multi token. */
  readonly multi: boolean
}

/** One thing wrong with the graph, located where the user declared it. */
export interface GraphProblem {
  readonly code: PlinthErrorCode
  readonly message: string
  readonly token: string
  readonly module: string | undefined
  readonly site: string
}

/** A value computed per requesting component, such as its child logger. */
export type ContextualFactory = (requester: Node) => unknown

export interface Graph {
  readonly nodes: Node[]
  readonly single: Map<symbol, Node>
  readonly multi: Map<symbol, Node[]>
  readonly contextual: ReadonlyMap<symbol, ContextualFactory>
  /** Nodes in dependency order (dependencies first); nodes on a cycle are left out. */
  readonly order: Node[]
}

/** Scope names from the longest-lived to the shortest: a session holds requests. */
export const DEFAULT_SCOPES: readonly string[] = ['session', 'request']

const where = (node: Node) => `${node.reg.module ? `module "${node.reg.module}", ` : ''}${node.reg.site}`

/**
 * Builds and validates the dependency graph without constructing anything. Every problem is
 * collected, so that one report lists them all.
 */
export function buildGraph(
  providers: readonly AnyProvider[],
  overrides: readonly AnyProvider[] = [],
  contextual: ReadonlyMap<symbol, ContextualFactory> = NO_CONTEXTUAL,
  scopes: readonly string[] = DEFAULT_SCOPES,
): { graph: Graph; problems: GraphProblem[] } {
  const problems: GraphProblem[] = []
  let registrations: readonly AnyProvider[] = providers
  if (overrides.length > 0) {
    const overridden = new Set(overrides.filter((o) => o.provides.kind === 'token').map((o) => o.provides.id))
    registrations = [...providers.filter((p) => !overridden.has(p.provides.id)), ...overrides]
  }

  const nodes: Node[] = []
  const single = new Map<symbol, Node>()
  const multi = new Map<symbol, Node[]>()
  const names = new TokenNames(problems, contextual)
  let scoped = false

  for (const reg of registrations) {
    const provides = reg.provides
    const node = createNode(nodes.length, reg)
    if (names.active) names.note(provides, reg.site, reg.module)
    if (provides.kind === 'multi') {
      const list = multi.get(provides.id)
      if (list === undefined) multi.set(provides.id, [node])
      else list.push(node)
    } else {
      const existing = single.get(provides.id)
      if (existing !== undefined) {
        problems.push({
          code: 'PLINTH_ERR_DUPLICATE_PROVIDER',
          message: `"${node.name}" is provided twice: at ${where(existing)} and at ${where(node)}`,
          token: node.name,
          module: reg.module,
          site: String(reg.site),
        })
        continue
      }
      single.set(provides.id, node)
    }
    scoped ||= reg.lifetime === 'scoped'
    if (reg.lifetime !== 'singleton' || reg.depEntries === undefined || !reg.depsValid) problems.push(...declarationProblems(node))
    nodes.push(node)
  }

  let providedNames: string[] | undefined // only to suggest a name for a missing provider
  // Whether every node comes after what it is built from: the registration order is then a build order.
  let sorted = true
  for (const node of nodes) {
    const entries = node.reg.depEntries ?? Object.entries(node.reg.deps)
    const checked = node.reg.depsValid === true && node.reg.depEntries !== undefined
    let direct = node.lifetime === 'singleton'
    if (entries.length === 0) {
      node.direct = direct
      continue
    }
    const edges: Edge[] = []
    ;(node as { edges: readonly Edge[] }).edges = edges
    for (let i = 0; i < entries.length; i++) {
      const [key, dep] = entries[i]!
      if (!checked && !isDependency(dep)) continue // reported by declarationProblems
      const edge = linkEdge(key, dep as Dependency, single, multi, contextual)
      edges.push(edge)
      const targets = edge.targets
      if (sorted && edge.kind !== 'accessor' && edge.kind !== 'contextual') for (const target of targets) sorted &&= target.index < node.index
      direct &&= (edge.kind === 'single' || edge.kind === 'optional') && (targets.length === 0 || targets[0]!.lifetime === 'singleton')
      // A token some provider provides was noted along with that provider.
      if (names.active && (targets.length === 0 || targets[0]!.reg.provides !== edge.token)) names.note(edge.token, node.reg.site, node.reg.module)
      if (targets.length === 0 && (edge.kind === 'single' || (edge.kind === 'accessor' && !edge.multi))) {
        providedNames ??= [...new Set(nodes.map((n) => n.name))]
        const suggestion = closest(edge.token.name, providedNames)
        problems.push({
          code: 'PLINTH_ERR_MISSING_PROVIDER',
          message:
            `"${node.name}" (${where(node)}) depends on "${edge.token.name}" (as deps.${key}), which nothing provides` +
            (suggestion ? `; did you mean "${suggestion}"?` : ` (token declared at ${edge.token.site})`),
          token: edge.token.name,
          module: node.reg.module,
          site: String(node.reg.site),
        })
      }
    }
    node.direct = direct
  }

  const { order, cycles } = sorted ? { order: nodes, cycles: [] } : sortByDependencies(nodes)
  for (const cycle of cycles) {
    const path = [...cycle, cycle[0]!].map((n) => n.name).join(' -> ')
    problems.push({
      code: 'PLINTH_ERR_CYCLE',
      message: `dependency cycle: ${path}\n${cycle.map((n) => `    ${n.name} declared at ${where(n)}`).join('\n')}`,
      token: cycle[0]!.name,
      module: cycle[0]!.reg.module,
      site: String(cycle[0]!.reg.site),
    })
  }
  // Only a scoped instance can be held captive.
  if (scoped) problems.push(...captiveProblems(order, scopes))
  return { graph: { nodes, single, multi, contextual: contextual.size === 0 ? NO_CONTEXTUAL : new Map(contextual), order }, problems }
}

const NO_CONTEXTUAL: ReadonlyMap<symbol, ContextualFactory> = new Map()

const NO_EDGES: readonly Edge[] = Object.freeze([])
const NO_NODES: readonly Node[] = Object.freeze([])

function createNode(index: number, reg: Registration): Node {
  // Every field set here, in one order, so that all nodes share one shape.
  return {
    index,
    reg,
    name: reg.provides.name,
    lifetime: reg.lifetime,
    edges: NO_EDGES,
    alone: undefined,
    program: undefined,
    instance: undefined,
    state: 'unbuilt',
    error: undefined,
    pending: undefined,
    direct: false,
    mark: 0,
  }
}

/**
 * Finds two different tokens with one name in a graph. A name is looked up only when some token
 * declared in this process shares it (see `sharedName`), which in an app is rare: most graphs
 * skip the lookup for every token.
 */
class TokenNames {
  /** False when no two tokens of this process share a name: then no graph can hold two, and nothing is looked up. */
  readonly active = anySharedName()
  readonly #problems: GraphProblem[]
  readonly #contextual: ReadonlyMap<symbol, ContextualFactory>
  #seen: Map<string, AnyToken> | undefined

  constructor(problems: GraphProblem[], contextual: ReadonlyMap<symbol, ContextualFactory>) {
    this.#problems = problems
    this.#contextual = contextual
  }

  note(t: AnyToken, site: Site, module: string | undefined): void {
    if (!sharedName(t)) return
    const seen = (this.#seen ??= new Map()).get(t.name)
    if (seen === undefined) this.#seen.set(t.name, t)
    else if (seen.id !== t.id && (t.kind !== 'token' || !this.#contextual.has(t.id))) {
      this.#problems.push({
        code: 'PLINTH_ERR_DUPLICATE_TOKEN_NAME',
        message: `two different tokens are named "${t.name}": one declared at ${seen.site}, the other at ${t.site}`,
        token: t.name,
        module,
        site: String(site),
      })
      this.#seen.set(t.name, t) // report each further clash once
    }
  }
}

function linkEdge(
  key: string,
  dep: Dependency,
  single: Map<symbol, Node>,
  multi: Map<symbol, Node[]>,
  contextual: ReadonlyMap<symbol, ContextualFactory>,
): Edge {
  const wrapped = dep.kind === 'optional' || dep.kind === 'accessor'
  const target = wrapped ? dep.token : dep
  const isMulti = target.kind === 'multi'
  let targets: readonly Node[]
  if (isMulti) targets = multi.get(target.id) ?? NO_NODES
  else {
    const node = single.get(target.id)
    targets = node === undefined ? NO_NODES : (node.alone ??= [node])
  }
  let kind: EdgeKind
  if (!isMulti && targets.length === 0 && contextual.has(target.id)) kind = 'contextual'
  else if (dep.kind === 'accessor') kind = 'accessor'
  else if (isMulti) kind = 'multi'
  else kind = dep.kind === 'optional' ? 'optional' : 'single'
  return { key, kind, token: target, targets, multi: isMulti }
}

const LIFETIMES = new Set<string>(['singleton', 'transient', 'scoped'])

function declarationProblems(node: Node): GraphProblem[] {
  const { reg } = node
  const found: string[] = []
  if (reg.lifetime !== 'singleton') {
    for (const hook of ['start', 'stop', 'health'] as const) {
      if (reg[hook]) found.push(`a ${reg.lifetime} provider cannot have a ${hook} hook (only singletons have a lifecycle)`)
    }
    if (reg.eager) found.push(`a ${reg.lifetime} provider cannot be eager`)
  }
  if (!LIFETIMES.has(reg.lifetime)) {
    found.push(`lifetime must be "singleton", "transient" or "scoped"; got ${JSON.stringify(reg.lifetime)}`)
  }
  for (const [key, dep] of reg.depEntries ?? Object.entries(reg.deps ?? {})) {
    if (!isDependency(dep)) {
      found.push(`deps.${key} is not a token, optional(token) or accessor(token); got ${describeValue(dep)}`)
    }
  }
  if (found.length === 0) return []
  return found.map((message) => ({
    code: 'PLINTH_ERR_INVALID_PROVIDER' as const,
    message: `"${node.name}" (${where(node)}): ${message}`,
    token: node.name,
    module: reg.module,
    site: String(reg.site),
  }))
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined (is the import circular, or the name misspelt?)'
  return typeof value === 'object' ? 'an object' : JSON.stringify(value)
}

/** Nodes the edge makes `node` wait for at construction (accessors resolve later). */
export function constructionTargets(node: Node): Node[] {
  const out: Node[] = []
  for (const edge of node.edges) if (edge.kind !== 'accessor' && edge.kind !== 'contextual') out.push(...edge.targets)
  return out
}

const EXPANDED = Symbol('expanded')

/**
 * Depth-first post-order from `roots`, iteratively (a 10 000-deep chain cannot overflow the
 * stack): each node comes after the nodes `next` gives for it. Nodes for which `skip` is true are
 * left out, and not followed.
 *
 * @example
 * const buildOrder = postOrder([root], (node) => constructionTargets(node))
 */
export function postOrder(roots: readonly Node[], next: (node: Node) => readonly Node[], skip?: (node: Node) => boolean): Node[] {
  const out: Node[] = []
  const seen = new Set<Node>()
  // A node is pushed to expand it, then again under EXPANDED to emit it once its dependencies are out.
  const stack: Array<Node | typeof EXPANDED> = []
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]!)
  while (stack.length > 0) {
    const item = stack.pop()!
    if (item === EXPANDED) {
      out.push(stack.pop() as Node)
      continue
    }
    if (seen.has(item) || skip?.(item)) continue
    seen.add(item)
    stack.push(item, EXPANDED)
    const deps = next(item)
    for (let i = deps.length - 1; i >= 0; i--) if (!seen.has(deps[i]!)) stack.push(deps[i]!)
  }
  return out
}

/**
 * Tarjan's strongly connected components, iteratively so a 10 000-deep chain cannot overflow
 * the stack. Components come out dependencies first, which is the build order.
 */
export function sortByDependencies(nodes: readonly Node[]): { order: Node[]; cycles: Node[][] } {
  const order = acyclicOrder(nodes)
  return order ? { order, cycles: [] } : stronglyConnected(nodes)
}

/**
 * The order Tarjan's algorithm gives an acyclic graph (a depth-first post-order), without its
 * bookkeeping: no frame objects, no successor arrays. Undefined at the first back edge; the caller
 * then runs Tarjan's algorithm, which reports the cycles.
 */
function acyclicOrder(nodes: readonly Node[]): Node[] | undefined {
  const state = new Uint8Array(nodes.length) // 0 unvisited, 1 on the path, 2 done
  const edgeAt = new Int32Array(nodes.length)
  const targetAt = new Int32Array(nodes.length)
  const order: Node[] = []
  const path: Node[] = []
  for (const root of nodes) {
    if (state[root.index] !== 0) continue
    state[root.index] = 1
    path.push(root)
    while (path.length > 0) {
      const node = path[path.length - 1]!
      const i = node.index
      let next: Node | undefined
      while (next === undefined && edgeAt[i]! < node.edges.length) {
        const edge = node.edges[edgeAt[i]!]!
        if (edge.kind === 'accessor' || edge.kind === 'contextual' || targetAt[i]! >= edge.targets.length) {
          edgeAt[i]!++
          targetAt[i] = 0
          continue
        }
        next = edge.targets[targetAt[i]!++]
      }
      if (next === undefined) {
        path.pop()
        state[i] = 2
        order.push(node)
      } else if (state[next.index] === 1) {
        return undefined
      } else if (state[next.index] === 0) {
        state[next.index] = 1
        path.push(next)
      }
    }
  }
  return order
}

function stronglyConnected(nodes: readonly Node[]): { order: Node[]; cycles: Node[][] } {
  const index = new Int32Array(nodes.length).fill(-1)
  const low = new Int32Array(nodes.length)
  const onStack = new Uint8Array(nodes.length)
  const stack: Node[] = []
  const order: Node[] = []
  const cycles: Node[][] = []
  let counter = 0
  const successors = nodes.map(constructionTargets)

  for (const root of nodes) {
    if (index[root.index] !== -1) continue
    const work: Array<{ node: Node; next: number }> = [{ node: root, next: 0 }]
    index[root.index] = low[root.index] = counter++
    stack.push(root)
    onStack[root.index] = 1
    while (work.length > 0) {
      const frame = work[work.length - 1]!
      const succ = successors[frame.node.index]!
      if (frame.next < succ.length) {
        const child = succ[frame.next++]!
        if (index[child.index] === -1) {
          index[child.index] = low[child.index] = counter++
          stack.push(child)
          onStack[child.index] = 1
          work.push({ node: child, next: 0 })
        } else if (onStack[child.index]) {
          low[frame.node.index] = Math.min(low[frame.node.index]!, index[child.index]!)
        }
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent) low[parent.node.index] = Math.min(low[parent.node.index]!, low[frame.node.index]!)
      if (low[frame.node.index] !== index[frame.node.index]) continue
      const component: Node[] = []
      let member: Node
      do {
        member = stack.pop()!
        onStack[member.index] = 0
        component.push(member)
      } while (member !== frame.node)
      const selfLoop = component.length === 1 && successors[frame.node.index]!.includes(frame.node)
      if (component.length > 1 || selfLoop) cycles.push(cyclePath(component, successors))
      else order.push(frame.node)
    }
  }
  return { order, cycles }
}

/** The shortest cycle through the component's first-declared node, found by breadth-first search. */
function cyclePath(component: Node[], successors: Node[][]): Node[] {
  const members = new Set(component)
  const start = component.reduce((a, b) => (a.index < b.index ? a : b))
  const previous = new Map<Node, Node>()
  const queue: Node[] = [start]
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!
    for (const next of successors[node.index]!) {
      if (!members.has(next)) continue
      if (next === start) {
        const path = [node]
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!)
        return path
      }
      if (!previous.has(next)) {
        previous.set(next, node)
        queue.push(next)
      }
    }
  }
  return [start]
}

/**
 * An instance must not hold one that dies before it: a singleton must not hold a scoped
 * instance, and a scoped one must not hold an instance of a shorter-lived scope (nor of a scope
 * whose nesting is unknown), directly or through transients.
 */
function captiveProblems(order: readonly Node[], scopes: readonly string[]): GraphProblem[] {
  const problems: GraphProblem[] = []
  const holds = new Map<Node, Node[]>() // a transient's path to the scoped node it holds
  const outlives = (holder: Node, held: Node) => {
    if (holder.lifetime === 'singleton') return false
    if (holder.reg.scope === held.reg.scope) return true
    const outer = scopes.indexOf(held.reg.scope)
    return outer !== -1 && outer < scopes.indexOf(holder.reg.scope)
  }
  for (const node of order) {
    if (node.lifetime === 'transient') {
      for (const target of constructionTargets(node)) {
        const held = target.lifetime === 'scoped' ? [target] : holds.get(target)
        if (held) {
          holds.set(node, [node, ...held])
          break
        }
      }
      continue
    }
    for (const target of constructionTargets(node)) {
      const path = target.lifetime === 'scoped' ? [target] : holds.get(target)
      const scoped = path?.[path.length - 1]
      if (!path || !scoped || outlives(node, scoped)) continue
      const holder = node.lifetime === 'singleton' ? `singleton "${node.name}"` : `"${node.name}" (scope "${node.reg.scope}")`
      problems.push({
        code: 'PLINTH_ERR_CAPTIVE_DEPENDENCY',
        message:
          `${holder} (${where(node)}) would hold "${scoped.name}", which lives in the ${node.lifetime === 'singleton' ? '' : 'shorter '}"${scoped.reg.scope}" scope: ` +
          `${[node, ...path].map((n) => `${n.name} (${n.lifetime === 'scoped' ? `scoped:${n.reg.scope}` : n.lifetime})`).join(' -> ')}; depend on it with accessor(${scoped.name}) instead`,
        token: node.name,
        module: node.reg.module,
        site: String(node.reg.site),
      })
      break
    }
  }
  return problems
}

/** The candidate nearest to `name` by edit distance, when near enough to be a misspelling. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1
  for (const candidate of candidates) {
    if (candidate === name) continue
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance && d < Math.min(name.length, candidate.length)) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
