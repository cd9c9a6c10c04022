/**
 * The order of the graph: dependencies first, and the cycle check. Iterative walks, so that a
 * 10 000-deep chain cannot overflow the stack.
 */
import type { Node } from './graph-types.js'

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
