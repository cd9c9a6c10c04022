import { discoveryErrors } from './errors.js'
import type { ServiceInstance } from './instance.js'

/** The load-balancing strategies, chosen per service. */
export type Strategy = 'round-robin' | 'least-connections' | 'weighted-round-robin' | 'consistent-hash' | 'random'

/** Every strategy, for validation and benchmarks. */
export const strategies: readonly Strategy[] = ['round-robin', 'least-connections', 'weighted-round-robin', 'consistent-hash', 'random']

/** What a pick may depend on: the key of consistent hashing (a client IP, a user id). */
export interface PickContext {
  readonly key?: string
}

/**
 * Picks one instance of a service for each call. `begin` and `end` bracket a call, so that least
 * connections counts what is in flight; the other strategies ignore them.
 *
 * @example
 * const balancer = createBalancer('least-connections')
 * const target = balancer.pick(instances)!
 * balancer.begin(target)
 * try { await call(target) } finally { balancer.end(target) }
 */
export interface Balancer {
  readonly strategy: Strategy
  pick(instances: readonly ServiceInstance[], context?: PickContext): ServiceInstance | undefined
  begin(instance: ServiceInstance): void
  end(instance: ServiceInstance): void
}

/**
 * In order, one after the other.
 *
 * @example
 * const next = new RoundRobin().pick(instances)
 */
export class RoundRobin implements Balancer {
  readonly strategy = 'round-robin'
  #next = 0

  pick(instances: readonly ServiceInstance[]): ServiceInstance | undefined {
    if (instances.length === 0) return undefined
    if (this.#next >= instances.length) this.#next = 0
    return instances[this.#next++]
  }

  begin(): void {}
  end(): void {}
}

/**
 * The instance with the fewest calls in flight from this client; ties go round robin.
 *
 * @example
 * const balancer = new LeastConnections()
 * const target = balancer.pick(instances)!
 * balancer.begin(target)
 * try { await call(target) } finally { balancer.end(target) }
 */
export class LeastConnections implements Balancer {
  readonly strategy = 'least-connections'
  readonly #inFlight = new Map<string, number>()
  #offset = 0

  pick(instances: readonly ServiceInstance[]): ServiceInstance | undefined {
    const n = instances.length
    if (n === 0) return undefined
    // Start the scan at a rotating offset so that ties do not all land on the first instance.
    const start = this.#offset++ % n
    let best: ServiceInstance | undefined
    let fewest = Infinity
    for (let i = 0; i < n; i++) {
      const instance = instances[(start + i) % n]!
      const count = this.#inFlight.get(instance.id) ?? 0
      if (count < fewest) {
        fewest = count
        best = instance
        if (count === 0) break
      }
    }
    return best
  }

  /** Calls in flight to the instance. */
  inFlight(id: string): number {
    return this.#inFlight.get(id) ?? 0
  }

  begin(instance: ServiceInstance): void {
    this.#inFlight.set(instance.id, (this.#inFlight.get(instance.id) ?? 0) + 1)
  }

  end(instance: ServiceInstance): void {
    const count = (this.#inFlight.get(instance.id) ?? 0) - 1
    if (count <= 0) this.#inFlight.delete(instance.id)
    else this.#inFlight.set(instance.id, count)
  }
}

/**
 * Smooth weighted round robin, as nginx does it: every pick adds each instance's weight to its
 * current score, takes the highest, and subtracts the total from the winner. Weights 5, 1, 1
 * give a a b a c a a, never five a in a row.
 *
 * @example
 * const balancer = new WeightedRoundRobin() // weights 5, 1, 1 pick a a b a c a a
 */
export class WeightedRoundRobin implements Balancer {
  readonly strategy = 'weighted-round-robin'
  readonly #list = new ListMemo()
  #current = new Float64Array(0)

  pick(instances: readonly ServiceInstance[]): ServiceInstance | undefined {
    const n = instances.length
    if (n === 0) return undefined
    if (this.#list.changed(instances)) {
      // Scores follow their instance across a change of the list; newcomers start at 0.
      const previous = new Map(this.#list.previousIds.map((id, i) => [id, this.#current[i]!]))
      this.#current = Float64Array.from(instances, (instance) => previous.get(instance.id) ?? 0)
    }
    const current = this.#current
    let total = 0
    let best = 0
    for (let i = 0; i < n; i++) {
      const weight = instances[i]!.weight
      current[i]! += weight
      total += weight
      if (current[i]! > current[best]!) best = i
    }
    current[best]! -= total
    return instances[best]
  }

  begin(): void {}
  end(): void {}
}

/** Options of {@link ConsistentHash}. */
export interface ConsistentHashOptions {
  /** Points per instance on the ring; more spread keys more evenly. Default 160 (ketama's). */
  replicas?: number
}

/**
 * Consistent hashing on a ring (Karger et al.; ketama): the same key goes to the same instance
 * while the set is stable, and when an instance joins or leaves about 1/n of the keys move.
 * Without a key it falls back to round robin.
 *
 * @example
 * const target = new ConsistentHash().pick(instances, { key: userId }) // the same user, the same instance
 */
export class ConsistentHash implements Balancer {
  readonly strategy = 'consistent-hash'
  readonly #replicas: number
  readonly #fallback = new RoundRobin()
  readonly #list = new ListMemo()
  #points = new Uint32Array(0)
  // Positions in the list, not instances: an instance that changes (health, weight) keeps its place.
  #owners = new Uint32Array(0)

  constructor(options: ConsistentHashOptions = {}) {
    const replicas = options.replicas ?? 160
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_OPTION', `ConsistentHash: replicas must be a positive integer; got ${String(replicas)}`, { details: { option: 'replicas' } })
    }
    this.#replicas = replicas
  }

  pick(instances: readonly ServiceInstance[], context?: PickContext): ServiceInstance | undefined {
    if (instances.length === 0) return undefined
    if (context?.key === undefined) return this.#fallback.pick(instances)
    this.#build(instances)
    const hash = hashString(context.key)
    // The first point at or after the key's hash, wrapping around the ring.
    let low = 0
    let high = this.#points.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.#points[mid]! < hash) low = mid + 1
      else high = mid
    }
    return instances[this.#owners[low === this.#points.length ? 0 : low]!]
  }

  begin(): void {}
  end(): void {}

  #build(instances: readonly ServiceInstance[]): void {
    if (!this.#list.changed(instances)) return
    const points: { hash: number; owner: number }[] = []
    instances.forEach((instance, position) => {
      for (let r = 0; r < this.#replicas; r++) points.push({ hash: hashString(`${instance.id}#${r}`), owner: position })
    })
    points.sort((a, b) => a.hash - b.hash)
    this.#points = Uint32Array.from(points, (p) => p.hash)
    this.#owners = Uint32Array.from(points, (p) => p.owner)
  }
}

/** Options of {@link RandomPick}. */
export interface RandomOptions {
  /** A source of numbers in [0, 1); tests pass a seeded one. Default Math.random. */
  random?: () => number
}

/**
 * Uniformly at random.
 *
 * @example
 * const target = new RandomPick().pick(instances)
 */
export class RandomPick implements Balancer {
  readonly strategy = 'random'
  readonly #random: () => number

  constructor(options: RandomOptions = {}) {
    this.#random = options.random ?? Math.random
  }

  pick(instances: readonly ServiceInstance[]): ServiceInstance | undefined {
    if (instances.length === 0) return undefined
    return instances[Math.floor(this.#random() * instances.length)]
  }

  begin(): void {}
  end(): void {}
}

/**
 * A balancer of the named strategy; throws PLINTH_ERR_DISCOVERY_INVALID_OPTION for an unknown one.
 *
 * @example
 * const balancer = createBalancer('weighted-round-robin')
 */
export function createBalancer(strategy: Strategy, where = 'strategy'): Balancer {
  switch (strategy) {
    case 'round-robin':
      return new RoundRobin()
    case 'least-connections':
      return new LeastConnections()
    case 'weighted-round-robin':
      return new WeightedRoundRobin()
    case 'consistent-hash':
      return new ConsistentHash()
    case 'random':
      return new RandomPick()
    default:
      throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_OPTION', `${where}: unknown strategy ${JSON.stringify(strategy)}; use one of ${strategies.join(', ')}`, {
        details: { option: where },
      })
  }
}

/**
 * Tells whether a list of instances differs from the one seen last: at once when it is the same
 * array, otherwise by comparing ids in order (no string building, so a pick stays cheap).
 */
class ListMemo {
  #last: readonly ServiceInstance[] | undefined
  #ids: string[] = []
  previousIds: readonly string[] = []

  changed(instances: readonly ServiceInstance[]): boolean {
    if (instances === this.#last) return false
    const ids = this.#ids
    let same = ids.length === instances.length
    for (let i = 0; same && i < ids.length; i++) same = ids[i] === instances[i]!.id
    this.#last = instances
    if (same) return false
    this.previousIds = ids
    this.#ids = instances.map((instance) => instance.id)
    return true
  }
}

/**
 * FNV-1a over UTF-16 code units, finished with murmur3's fmix32 so that near keys spread.
 *
 * @example
 * hashString('user-42') // the same 32-bit number on every instance
 */
export function hashString(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}
