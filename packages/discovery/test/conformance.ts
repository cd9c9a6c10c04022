/**
 * The registry contract, run against every backend (memory.test.ts, redis.test.ts,
 * consul.test.ts): whatever the backend, an instance registers, is found, is watched coming,
 * changing and going, and vanishes when its lease lapses.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { discoveryErrors, type Registry, type ServiceInstance } from '@plinth/discovery'

export interface RegistryFixture {
  /** A fresh registry with the given lease, isolated from other runs (own key prefix...). */
  create(options: { ttl: number }): Promise<Registry>
  /** Removes what the run left behind. */
  cleanup?(): Promise<void>
}

let sequence = 0
export function instanceOf(service: string, overrides: Partial<ServiceInstance> = {}): ServiceInstance {
  const id = overrides.id ?? `i${++sequence}`
  return {
    service,
    id,
    addresses: { http: `http://127.0.0.1:${8000 + sequence}` },
    version: '1.0.0',
    metadata: { zone: 'a' },
    health: 'passing',
    draining: false,
    weight: 1,
    ...overrides,
  }
}

/** Resolves with the first list the watch delivers that satisfies `done`. */
export function until(registry: Registry, service: string, done: (instances: readonly ServiceInstance[]) => boolean, timeout = 10_000): Promise<readonly ServiceInstance[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watch.close()
      reject(new Error(`the ${registry.kind} watch of ${service} never delivered the expected list within ${timeout} ms; last: ${JSON.stringify(last)}`))
    }, timeout)
    let last: readonly ServiceInstance[] = []
    const watch = registry.watch(service, (instances) => {
      last = instances
      if (!done(instances)) return
      clearTimeout(timer)
      watch.close()
      resolve(instances)
    })
  })
}

export function registryConformance(name: string, fixture: RegistryFixture): void {
  describe(`${name} registry`, () => {
    let registry: Registry
    let service: string
    beforeEach(async () => {
      registry = await fixture.create({ ttl: 60_000 })
      service = `svc-${Math.random().toString(36).slice(2, 8)}`
    })
    afterEach(async () => {
      await registry.close()
      await fixture.cleanup?.()
    })

    it('lists a registered instance with every field it was registered with', async () => {
      const instance = instanceOf(service, { addresses: { http: 'http://127.0.0.1:8100', grpc: 'http://127.0.0.1:50100' }, metadata: { zone: 'b', region: 'eu' }, version: '2.3.4', weight: 3 })
      await registry.register(instance)
      expect(await registry.instances(service)).toEqual([instance])
    })

    it('keeps services apart', async () => {
      await registry.register(instanceOf(service))
      expect(await registry.instances(`${service}-other`)).toEqual([])
    })

    it('replaces an instance registered again under the same id (health, draining)', async () => {
      const instance = instanceOf(service)
      await registry.register(instance)
      await registry.register({ ...instance, health: 'warning', draining: true })
      expect(await registry.instances(service)).toEqual([{ ...instance, health: 'warning', draining: true }])
    })

    it('forgets a deregistered instance', async () => {
      const a = instanceOf(service)
      const b = instanceOf(service)
      await registry.register(a)
      await registry.register(b)
      await registry.deregister(service, a.id)
      expect(await registry.instances(service)).toEqual([b])
    })

    it('rejects an instance with an invalid address, naming it', async () => {
      const bad = instanceOf(service, { addresses: { http: 'http://0.0.0.0:8000' } })
      const error = await registry.register(bad).catch((e: unknown) => e)
      expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_INVALID_ADDRESS')).toBe(true)
      expect(String(error)).toContain('"http"')
      expect(await registry.instances(service)).toEqual([])
    })

    it('watch delivers the current list, then every arrival, change and departure', async () => {
      const a = instanceOf(service)
      await registry.register(a)
      const seen: string[][] = []
      const b = instanceOf(service)
      let step = 0
      await new Promise<void>((resolve) => {
        const watch = registry.watch(service, (instances) => {
          seen.push(instances.map((i) => `${i.id}:${i.health}${i.draining ? ':draining' : ''}`))
          step++
          if (step === 1) void registry.register(b)
          if (step === 2) void registry.register({ ...b, draining: true })
          if (step === 3) void registry.deregister(service, a.id)
          if (step === 4) {
            watch.close()
            resolve()
          }
        })
      })
      expect(seen).toEqual([[`${a.id}:passing`], [`${a.id}:passing`, `${b.id}:passing`].sort(), [`${a.id}:passing`, `${b.id}:passing:draining`].sort(), [`${b.id}:passing:draining`]])
    })

    it('does not call a watch again for a renewal that changes nothing', async () => {
      const a = instanceOf(service)
      await registry.register(a)
      const lists: number[] = []
      let sawOne: () => void = () => {}
      let sawTwo: () => void = () => {}
      const one = new Promise<void>((resolve) => (sawOne = resolve))
      const two = new Promise<void>((resolve) => (sawTwo = resolve))
      const watch = registry.watch(service, (instances) => {
        lists.push(instances.length)
        if (instances.length === 1) sawOne()
        if (instances.length === 2) sawTwo()
      })
      await one
      await registry.renew(a)
      const b = instanceOf(service)
      await registry.register(b)
      await two
      watch.close()
      // Delivered: the first list, then b's arrival; the renewal in between was not a change.
      expect(lists).toEqual([1, 2])
    })

    describe('leases', () => {
      let short: Registry
      beforeEach(async () => {
        short = await fixture.create({ ttl: 1_000 })
      })
      afterEach(async () => {
        await short.close()
      })

      it('an instance that stops renewing (a crash) vanishes when its lease lapses, and watches see it go', async () => {
        const crashed = instanceOf(service)
        const alive = instanceOf(service)
        await short.register(crashed)
        await short.register(alive)
        const keepAlive = setInterval(() => void short.renew(alive), 250)
        try {
          const after = await until(short, service, (list) => list.length === 1)
          expect(after.map((i) => i.id)).toEqual([alive.id])
          expect((await short.instances(service)).map((i) => i.id)).toEqual([alive.id])
        } finally {
          clearInterval(keepAlive)
        }
      })

      it('renew re-creates a registration whose lease already lapsed', async () => {
        const instance = instanceOf(service)
        await short.register(instance)
        await until(short, service, (list) => list.length === 0)
        await short.renew(instance)
        expect(await short.instances(service)).toEqual([instance])
      })
    })

    it('refuses work once closed', async () => {
      await registry.close()
      const error = await Promise.resolve()
        .then(() => registry.instances(service))
        .catch((e: unknown) => e)
      expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_CLOSED')).toBe(true)
      registry = await fixture.create({ ttl: 60_000 })
    })
  })
}
