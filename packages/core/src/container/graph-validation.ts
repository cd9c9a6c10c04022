/**
 * What can be wrong with a graph beyond a missing provider or a cycle: an invalid declaration,
 * and a captive dependency (an instance holding one that dies before it).
 */
import { PlinthError, errorCatalogue } from '../errors.js'
import { closest } from './edit-distance.js'
import { constructionTargets } from './graph-order.js'
import { where, type GraphProblem, type Node } from './graph-types.js'
import { dependencyEntries } from './provider.js'
import { isDependency } from './token.js'

const LIFETIMES = new Set<string>(['singleton', 'transient', 'scoped'])

/**
 * Checks one provider's declaration; `provided` (every provided token's name) is matched against
 * a dependency left undefined, and the match is named with its provider's declaration (`providerOf`).
 */
export function declarationProblems(node: Node, provided: readonly string[], providerOf: (name: string) => Node): GraphProblem[] {
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
  let entries: readonly (readonly [string, unknown])[] = []
  try {
    entries = dependencyEntries(reg)
  } catch (error) {
    found.push(`its deps() threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
  }
  for (const [key, dep] of entries) {
    if (!isDependency(dep)) {
      const like = dep === undefined ? resembling(key, provided) : undefined
      found.push(`deps.${key} is not a token, optional(token) or accessor(token); got ${describeValue(dep)}${like ? `; did you mean "${like}" (${where(providerOf(like))})?` : ''}`)
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

/** The provided token a dependency key most resembles: its own name, a near spelling, or one containing the other. */
function resembling(key: string, provided: readonly string[]): string | undefined {
  const lower = key.toLowerCase()
  return (
    provided.find((name) => name.toLowerCase() === lower) ??
    closest(key, provided) ??
    provided.find((name) => name.toLowerCase().includes(lower) || lower.includes(name.toLowerCase()))
  )
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined (is the import circular, or the name misspelt?)'
  return typeof value === 'object' ? 'an object' : JSON.stringify(value)
}

/**
 * An instance must not hold one that dies before it: a singleton must not hold a scoped
 * instance, and a scoped one must not hold an instance of a shorter-lived scope (nor of a scope
 * whose nesting is unknown), directly or through transients.
 */
export function captiveProblems(order: readonly Node[], scopes: readonly string[]): GraphProblem[] {
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

/**
 * Formats a list of graph problems as the one report `plinth check` and start-up print.
 *
 * @example
 * const { problems } = await app.check()
 * if (problems.length > 0) console.error(formatProblems(problems)) // 1. [PLINTH_ERR_MISSING_PROVIDER] "users" ...
 */
export function formatProblems(problems: readonly GraphProblem[]): string {
  const hints: Readonly<Record<string, { hint: string } | undefined>> = errorCatalogue
  return problems.map((p, i) => `${i + 1}. [${p.code}] ${p.message}${hints[p.code] ? `\n   fix: ${hints[p.code]!.hint}` : ''}`).join('\n')
}

/** Throws one error listing every graph problem, when there are any. */
export function assertValidGraph(problems: readonly GraphProblem[]): void {
  if (problems.length === 0) return
  throw new PlinthError(
    'PLINTH_ERR_INVALID_GRAPH',
    `the dependency graph has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${formatProblems(problems)}`,
    { details: { problems } },
  )
}
