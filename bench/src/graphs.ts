/**
 * The dependency graphs every library builds, as plain data: node i depends on the nodes listed
 * in deps[i], always earlier ones, so index order is a build order. Each library turns the same
 * shape into its own classes and registrations (see ./libraries), so every row compares the same
 * graph.
 */
export interface GraphShape {
  /** deps[i]: the indexes node i depends on, in constructor order. */
  readonly deps: readonly (readonly number[])[]
  /** The node resolved by the benchmark; resolving it builds every node. */
  readonly root: number
}

/**
 * mulberry32: a tiny seeded generator, so that the "random" graphs and start latencies are the
 * same on every run and every machine.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The transient tree of row 2: the Fibonacci tree of depth 10, with every node its own class.
 * Node T(n) needs a T(n-1) and a T(n-2) (T1 needs a T0; T0 is a leaf), so T9's tree holds
 * I(9) = 143 instances, where I(0) = 1, I(1) = 2 and I(n) = 1 + I(n-1) + I(n-2) (that is,
 * F(n+3) - 1): arity 0-2, depth 10. Each of the 143 tree positions is a distinct class, so every
 * library builds all 143 instances per resolve, NestJS included (its transient providers are
 * per consumer class, so ten shared classes would give it only ten instances to build).
 */
export function fibonacciTree(order = 9): GraphShape {
  const deps: number[][] = []
  const build = (n: number): number => {
    const children = n === 0 ? [] : n === 1 ? [build(0)] : [build(n - 1), build(n - 2)]
    deps.push(children)
    return deps.length - 1
  }
  return { deps, root: build(order) }
}

/** How many instances one resolve of `root` builds when every node is transient. */
export function transientInstanceCount(shape: GraphShape): number {
  const count: number[] = []
  for (let i = 0; i < shape.deps.length; i++) count.push(1 + shape.deps[i]!.reduce((sum, d) => sum + count[d]!, 0))
  return count[shape.root]!
}

/**
 * A random app-shaped DAG (rows 1, 3 and 5): each node but the last depends on 0-3 distinct
 * earlier nodes, chosen uniformly. The last node is the root, standing for the app's entry point
 * (a server that mounts every route): it depends on every node nothing else depends on, so that
 * resolving or booting it builds all of them.
 */
export function randomDag(size: number, seed: number): GraphShape {
  const random = seededRandom(seed)
  const deps: number[][] = []
  const referenced = new Set<number>()
  for (let i = 0; i < size - 1; i++) {
    const wanted = Math.min(i, Math.floor(random() * 4))
    const picked = new Set<number>()
    while (picked.size < wanted) picked.add(Math.floor(random() * i))
    for (const d of picked) referenced.add(d)
    deps.push([...picked].sort((a, b) => a - b))
  }
  deps.push(deps.map((_, i) => i).filter((i) => !referenced.has(i)))
  return { deps, root: size - 1 }
}

/** Row 4: node i needs node i-1, so resolving the last one is `depth` constructions deep. */
export function chain(depth: number): GraphShape {
  const deps: number[][] = []
  for (let i = 0; i < depth; i++) deps.push(i === 0 ? [] : [i - 1])
  return { deps, root: depth - 1 }
}

/** Longest path through the DAG where node i takes cost[i] once its dependencies are done. */
export function criticalPath(shape: GraphShape, cost: readonly number[]): number {
  const finish: number[] = []
  for (let i = 0; i < shape.deps.length; i++) finish.push(cost[i]! + Math.max(0, ...shape.deps[i]!.map((d) => finish[d]!)))
  return Math.max(...finish)
}

/** The number of nodes on the longest dependency chain. */
export function depth(shape: GraphShape): number {
  return criticalPath(shape, shape.deps.map(() => 1))
}
