import type { Graph, Node } from './graph.js'
import { singletonDeps } from './plan.js'

export type GraphFormat = 'mermaid' | 'dot'

/** Start wave of each booted component: 1 for those needing nothing, else one past their latest dependency. */
export function startWaves(bootSet: readonly Node[]): Map<Node, number> {
  const waves = new Map<Node, number>()
  for (const node of bootSet) {
    let wave = 1
    for (const dep of singletonDeps(node)) wave = Math.max(wave, (waves.get(dep.node) ?? 0) + 1)
    waves.set(node, wave)
  }
  return waves
}

/**
 * The dependency graph as Mermaid or Graphviz DOT: one box per provider with its lifetime and
 * start wave ("lazy" for those not built at start), arrows from each component to what it
 * needs, dashed for optional and accessor dependencies, modules as clusters.
 *
 * @example
 * console.log(renderGraph(app.container.graph, lifecycle.bootSet(), 'mermaid'))
 */
export function renderGraph(graph: Graph, bootSet: readonly Node[], format: GraphFormat): string {
  const waves = startWaves(bootSet)
  const id = (node: Node) => `n${node.index}`
  const label = (node: Node) => `${node.name}\n${node.lifetime}${node.lifetime === 'scoped' ? `:${node.reg.scope}` : ''} · ${waves.has(node) ? `wave ${waves.get(node)}` : 'lazy'}`
  const byModule = new Map<string, Node[]>()
  for (const node of graph.nodes) {
    const key = node.reg.module ?? ''
    byModule.set(key, [...(byModule.get(key) ?? []), node])
  }
  const edges: Array<{ from: Node; to: Node; dashed: boolean }> = []
  for (const node of graph.nodes) {
    for (const edge of node.edges) {
      for (const target of edge.targets) edges.push({ from: node, to: target, dashed: edge.kind === 'optional' || edge.kind === 'accessor' })
    }
  }
  if (format === 'mermaid') {
    const lines = ['flowchart LR']
    for (const [module, nodes] of byModule) {
      const indent = module ? '    ' : '  '
      if (module) lines.push(`  subgraph ${JSON.stringify(module)}`)
      for (const node of nodes) lines.push(`${indent}${id(node)}["${label(node).replace('\n', '<br/>').replaceAll('"', '#quot;')}"]`)
      if (module) lines.push('  end')
    }
    for (const e of edges) lines.push(`  ${id(e.from)} ${e.dashed ? '-.->' : '-->'} ${id(e.to)}`)
    return lines.join('\n') + '\n'
  }
  const lines = ['digraph plinth {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];']
  let cluster = 0
  for (const [module, nodes] of byModule) {
    const indent = module ? '    ' : '  '
    if (module) lines.push(`  subgraph cluster_${cluster++} {`, `    label=${JSON.stringify(module)};`)
    for (const node of nodes) lines.push(`${indent}${id(node)} [label=${JSON.stringify(label(node))}];`)
    if (module) lines.push('  }')
  }
  for (const e of edges) lines.push(`  ${id(e.from)} -> ${id(e.to)}${e.dashed ? ' [style=dashed]' : ''};`)
  lines.push('}')
  return lines.join('\n') + '\n'
}
