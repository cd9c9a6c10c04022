/**
 * Building the dependency graph: a node per provider, an edge per dependency, each problem
 * collected (missing providers with a "did you mean", duplicates, cycles, captive dependencies)
 * so that one report lists them all. The checks live beside it: graph-order.ts (the order and
 * the cycle check), graph-validation.ts (declarations, captive dependencies), edit-distance.ts.
 */
import { closest } from './edit-distance.js'
import { sortByDependencies } from './graph-order.js'
import { where, type ContextualFactory, type Edge, type EdgeKind, type Graph, type GraphProblem, type Node } from './graph-types.js'
import { captiveProblems, declarationProblems } from './graph-validation.js'
import { dependencyEntries, type AnyProvider, type Registration } from './provider.js'
import type { Site } from './site.js'
import { anySharedName, isDependency, sharedName, type AnyToken, type Dependency } from './token.js'
export type { ContextualFactory, Edge, EdgeKind, Graph, GraphProblem, Node } from './graph-types.js'
export { closest } from './edit-distance.js'
export { constructionTargets, postOrder, sortByDependencies } from './graph-order.js'

/** Scope names from the longest-lived to the shortest: a session holds requests. */
export const DEFAULT_SCOPES: readonly string[] = ['session', 'request']

/**
 * Builds and validates the dependency graph without constructing anything. Every problem is
 * collected, so that one report lists them all.
 */
export function buildGraph(
  providers: readonly AnyProvider[],
  overrides: readonly AnyProvider[] = [],
  contextual: ReadonlyMap<symbol, ContextualFactory> = NO_CONTEXTUAL,
  scopes: readonly string[] = DEFAULT_SCOPES,
  listedAt: (module: string | undefined) => string | undefined = () => undefined,
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
  let unchecked: Node[] | undefined

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
        const sameDeclaration = String(existing.reg.site) === String(reg.site)
        problems.push({
          code: 'PLINTH_ERR_DUPLICATE_PROVIDER',
          message: sameDeclaration
            ? `"${node.name}" (declared at ${String(reg.site)}) is listed twice: in ${listing(existing, listedAt)} and in ${listing(node, listedAt)}`
            : `"${node.name}" is provided twice: at ${where(existing)} and at ${where(node)}`,
          token: node.name,
          module: reg.module,
          site: String(reg.site),
        })
        continue
      }
      single.set(provides.id, node)
    }
    scoped ||= reg.lifetime === 'scoped'
    if (reg.lifetime !== 'singleton' || reg.depEntries === undefined || !reg.depsValid) (unchecked ??= []).push(node)
    nodes.push(node)
  }

  let providedNames: string[] | undefined // only to suggest a name for a missing provider
  const providerOf = (name: string) => nodes.find((n) => n.name === name)!
  // Checked once every provider is known, so that a dependency left undefined can be matched to one.
  if (unchecked) for (const node of unchecked) problems.push(...declarationProblems(node, (providedNames ??= [...new Set(nodes.map((n) => n.name))]), providerOf))
  // Whether every node comes after what it is built from: the registration order is then a build order.
  let sorted = true
  for (const node of nodes) {
    const entries = safeEntries(node.reg)
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
            // The misspelt token's own declaration is the line to fix, so it is named either way.
            (suggestion ? `; did you mean "${suggestion}" (${where(providerOf(suggestion))})?` : '') +
            ` ("${edge.token.name}" is declared at ${edge.token.site})`,
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
    // The edge back to the first member closes the circle: its declaration is one place to break it.
    const last = cycle[cycle.length - 1]!
    const closing = last.edges.find((edge) => edge.targets.includes(cycle[0]!))
    const closes = closing ? `; "${last.name}" depends on "${cycle[0]!.name}" as deps.${closing.key} (${where(last)}), which closes it` : ''
    problems.push({
      code: 'PLINTH_ERR_CYCLE',
      message: `dependency cycle: ${path}${closes}\n${cycle.map((n) => `    ${n.name} declared at ${where(n)}`).join('\n')}`,
      token: last.name,
      module: last.reg.module,
      site: String(last.reg.site),
    })
  }
  // Only a scoped instance can be held captive.
  if (scoped) problems.push(...captiveProblems(order, scopes))
  return { graph: { nodes, single, multi, contextual: contextual.size === 0 ? NO_CONTEXTUAL : new Map(contextual), order }, problems }
}

/** The provider's dependency entries; none when its deps() threw (declarationProblems reports it). */
function safeEntries(reg: Registration): readonly (readonly [string, unknown])[] {
  try {
    return dependencyEntries(reg)
  } catch {
    return []
  }
}

/** Which list a provider was listed in, for one listed twice: the app's own components, or a module's. */
const listing = (node: Node, listedAt: (module: string | undefined) => string | undefined): string => {
  const site = listedAt(node.reg.module)
  return `${node.reg.module ? `module "${node.reg.module}"` : "the app's components"}${site ? ` (${site})` : ''}`
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
