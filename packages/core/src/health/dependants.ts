import { singletonDeps } from '../container/plan.js'
import type { Node } from '../container/graph.js'

/** What degradedUpstream() reads of a component's status. */
interface Component {
  readonly name: string
  readonly node: Node
}

/**
 * For each component, the degraded ones it depends on, directly or through others: a component
 * whose check fails while something it needs is down is degraded by it, and says nothing new.
 *
 * @example
 * degradedUpstream(['database'], app.components()).get('jobs') // ['database']
 */
export function degradedUpstream(degraded: readonly string[], components: readonly Component[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (degraded.length === 0) return out
  const names = new Map(components.map((c) => [c.node, c.name]))
  const reaches = new Map<Node, Set<string>>()
  // Memoised over the graph, which has no cycles.
  const upstream = (node: Node): Set<string> => {
    let found = reaches.get(node)
    if (found) return found
    found = new Set()
    reaches.set(node, found)
    for (const dep of singletonDeps(node)) {
      const name = names.get(dep.node)
      if (name !== undefined && degraded.includes(name)) found.add(name)
      for (const further of upstream(dep.node)) found.add(further)
    }
    return found
  }
  for (const component of components) {
    const found = upstream(component.node)
    if (found.size > 0) out.set(component.name, [...found])
  }
  return out
}
