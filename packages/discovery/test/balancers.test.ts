import { describe, expect, it } from 'vitest'
import { ConsistentHash, LeastConnections, RandomPick, RoundRobin, WeightedRoundRobin, createBalancer, discoveryErrors, strategies, type ServiceInstance } from '@plinth/discovery'

const instance = (id: string, weight = 1): ServiceInstance => ({ service: 'orders', id, addresses: { http: 'http://127.0.0.1:8000' }, version: '1', metadata: {}, health: 'passing', draining: false, weight })
const ids = (n: number, prefix = 'i') => Array.from({ length: n }, (_, i) => instance(`${prefix}${i}`))

/** mulberry32: a seeded generator, so the random test is the same on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('round robin', () => {
  it('visits every instance in order, exactly evenly', () => {
    const balancer = new RoundRobin()
    const list = ids(3)
    const picks = Array.from({ length: 9 }, () => balancer.pick(list)!.id)
    expect(picks).toEqual(['i0', 'i1', 'i2', 'i0', 'i1', 'i2', 'i0', 'i1', 'i2'])
  })

  it('keeps going when the list shrinks under it, and returns undefined for none', () => {
    const balancer = new RoundRobin()
    balancer.pick(ids(3))
    balancer.pick(ids(3))
    balancer.pick(ids(3))
    expect(balancer.pick(ids(2))!.id).toBe('i0')
    expect(balancer.pick([])).toBeUndefined()
  })
})

describe('smooth weighted round robin', () => {
  it('gives weights 5, 1, 1 the sequence nginx gives: a a b a c a a', () => {
    const balancer = new WeightedRoundRobin()
    const list = [instance('a', 5), instance('b', 1), instance('c', 1)]
    const picks = Array.from({ length: 7 }, () => balancer.pick(list)!.id)
    expect(picks.join(' ')).toBe('a a b a c a a')
  })

  it('serves each instance exactly its weight in every cycle of the total weight', () => {
    const balancer = new WeightedRoundRobin()
    const list = [instance('a', 3), instance('b', 2), instance('c', 1), instance('d', 4)]
    for (let cycle = 0; cycle < 5; cycle++) {
      const counts: Record<string, number> = {}
      for (let i = 0; i < 10; i++) {
        const id = balancer.pick(list)!.id
        counts[id] = (counts[id] ?? 0) + 1
      }
      expect(counts).toEqual({ a: 3, b: 2, c: 1, d: 4 })
    }
  })
})

describe('least connections', () => {
  it('sends the next call to the instance with the fewest in flight', () => {
    const balancer = new LeastConnections()
    const [a, b, c] = ids(3) as [ServiceInstance, ServiceInstance, ServiceInstance]
    balancer.begin(a)
    balancer.begin(a)
    balancer.begin(b)
    expect(balancer.pick([a, b, c])).toBe(c)
    balancer.begin(c)
    balancer.begin(c)
    expect(balancer.pick([a, b, c])).toBe(b)
    balancer.end(a)
    balancer.end(a)
    expect(balancer.pick([a, b, c])).toBe(a)
    expect(balancer.inFlight(a.id)).toBe(0)
  })

  it('spreads ties instead of piling them on the first instance', () => {
    const balancer = new LeastConnections()
    const list = ids(3)
    const picks = new Set(Array.from({ length: 3 }, () => balancer.pick(list)!.id))
    expect(picks.size).toBe(3)
  })
})

describe('random', () => {
  it('is uniform: chi-square over 10 instances and 100 000 picks stays under the 0.1% critical value', () => {
    const balancer = new RandomPick({ random: seeded(42) })
    const list = ids(10)
    const counts = new Map<string, number>()
    const picks = 100_000
    for (let i = 0; i < picks; i++) {
      const id = balancer.pick(list)!.id
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    const expected = picks / list.length
    const chiSquare = [...counts.values()].reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0)
    expect(counts.size).toBe(10)
    expect(chiSquare).toBeLessThan(27.877) // 9 degrees of freedom, p = 0.001
  })

  it('fails the same test when it is not uniform (the test can fail)', () => {
    const uniform = seeded(7)
    // Raising a uniform number to 1.1 slightly favours the low indexes: a subtle bias the bound must catch.
    const skewed = new RandomPick({ random: () => uniform() ** 1.1 })
    const list = ids(10)
    const counts = new Map<string, number>()
    for (let i = 0; i < 10_000; i++) {
      const id = skewed.pick(list)!.id
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    const expected = 10_000 / 10
    const chiSquare = [...counts.values()].reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0)
    expect(chiSquare).toBeGreaterThan(27.877)
  })
})

describe('consistent hashing', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)
  const assign = (balancer: ConsistentHash, list: ServiceInstance[]) => new Map(keys.map((key) => [key, balancer.pick(list, { key })!.id]))

  it('sends the same key to the same instance', () => {
    const balancer = new ConsistentHash()
    const list = ids(5)
    expect(balancer.pick(list, { key: 'user-1' })).toBe(balancer.pick(list, { key: 'user-1' }))
  })

  it('moves about 1/n of the keys when an instance joins, and only to the newcomer', () => {
    const balancer = new ConsistentHash()
    const before = assign(balancer, ids(9))
    const after = assign(balancer, ids(10))
    const moved = keys.filter((key) => before.get(key) !== after.get(key))
    for (const key of moved) expect(after.get(key)).toBe('i9')
    // 1/10 of 10 000 is 1 000; a ring of 160 points per instance keeps it within a few percent.
    expect(moved.length).toBeGreaterThan(700)
    expect(moved.length).toBeLessThan(1_300)
  })

  it('moves only the keys of an instance that leaves', () => {
    const balancer = new ConsistentHash()
    const before = assign(balancer, ids(10))
    const after = assign(balancer, ids(10).filter((i) => i.id !== 'i3'))
    for (const key of keys) if (before.get(key) !== 'i3') expect(after.get(key)).toBe(before.get(key))
  })

  it('spreads keys evenly enough: no instance gets more than twice its share', () => {
    const counts = new Map<string, number>()
    for (const id of assign(new ConsistentHash(), ids(10)).values()) counts.set(id, (counts.get(id) ?? 0) + 1)
    for (const count of counts.values()) expect(count).toBeLessThan(2_000)
  })

  it('returns the current object of an instance that changed but kept its place (health, weight)', () => {
    const balancer = new ConsistentHash()
    const before = ids(3)
    const owner = balancer.pick(before, { key: 'user-7' })!
    const after = before.map((i) => (i.id === owner.id ? { ...i, weight: 9 } : i))
    expect(balancer.pick(after, { key: 'user-7' })).toBe(after.find((i) => i.id === owner.id))
  })

  it('falls back to round robin without a key', () => {
    const balancer = new ConsistentHash()
    expect(Array.from({ length: 3 }, () => balancer.pick(ids(3))!.id)).toEqual(['i0', 'i1', 'i2'])
  })
})

describe('createBalancer', () => {
  it('makes every strategy by name', () => {
    for (const strategy of strategies) expect(createBalancer(strategy).strategy).toBe(strategy)
  })

  it('rejects an unknown strategy, naming where it was set and the choices', () => {
    const error = (() => {
      try {
        createBalancer('fastest' as never, 'services.orders.strategy')
      } catch (e) {
        return e
      }
    })()
    expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_INVALID_OPTION')).toBe(true)
    expect(String(error)).toContain('services.orders.strategy: unknown strategy "fastest"; use one of round-robin')
  })
})
