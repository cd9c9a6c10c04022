import { describe, expect, it } from 'vitest'
import { Bus, MemoryBroker, topic } from '../src/index.js'
import { busConformance, eventually, gate } from './conformance.js'

busConformance({
  name: 'memory',
  world: () => {
    const broker = new MemoryBroker()
    return Promise.resolve({ instance: (options) => new Bus({ ...options, broker }), cleanup: () => Promise.resolve() })
  },
})

busConformance({
  name: 'memory without copying',
  world: () => {
    const broker = new MemoryBroker({ copy: false })
    return Promise.resolve({ instance: (options) => new Bus({ ...options, broker }), cleanup: () => Promise.resolve() })
  },
})

describe('memory: copies', () => {
  it('hands each handler a copy of the payload by default, and the published object itself with copy: false', async () => {
    for (const copy of [true, false]) {
      const bus = new Bus({ broker: new MemoryBroker({ copy }) })
      await bus.start()
      const Shared = topic('shared').of<{ n: number }>()
      const received: Array<{ n: number }> = []
      await bus.subscribe(Shared, (m) => void received.push(m.payload), { group: 'g' })
      const sent = { n: 1 }
      await bus.publish(Shared, sent)
      await eventually(() => expect(received).toHaveLength(1))
      expect(received[0]).toEqual(sent)
      expect(received[0] === sent).toBe(!copy)
      await bus.stop()
    }
  })
})

describe('memory: copies as JSON carries them', () => {
  it('gives each group its own copy, nested objects included, with what JSON changes changed (a Date as text, undefined dropped, NaN as null)', async () => {
    const bus = new Bus({ broker: new MemoryBroker() })
    await bus.start()
    const Odd = topic('odd').of<Record<string, unknown>>()
    const received: Array<{ group: string; payload: unknown; headers: unknown }> = []
    for (const group of ['a', 'b']) await bus.subscribe(Odd, (m) => void received.push({ group, payload: m.payload, headers: m.headers }), { group })
    const at = new Date(0)
    const plain = { list: [1, 'two', { three: true }], nested: { n: null, zero: -0 } }
    const headers = { source: 'test' }
    await bus.publish(Odd, plain, { headers })
    await bus.publish(Odd, { at, gone: undefined, nan: Number.NaN, kept: 1 })
    await eventually(() => expect(received).toHaveLength(4))
    const [a, odd] = received.filter((r) => r.group === 'a')
    const [b] = received.filter((r) => r.group === 'b')
    expect(a!.payload).toEqual(JSON.parse(JSON.stringify(plain)))
    expect(Object.is((a!.payload as typeof plain).nested.zero, 0)).toBe(true)
    expect(a!.payload).not.toBe(plain)
    expect((a!.payload as typeof plain).list[2]).not.toBe(plain.list[2])
    expect((a!.payload as typeof plain).list).not.toBe((b!.payload as typeof plain).list)
    expect(a!.headers).toEqual(headers)
    expect(a!.headers).not.toBe(headers)
    expect(odd!.payload).toStrictEqual({ at: '1970-01-01T00:00:00.000Z', nan: null, kept: 1 })
    await bus.stop()
  })

  it('fails a publish whose payload JSON cannot carry, as a network broker would', async () => {
    const bus = new Bus({ broker: new MemoryBroker() })
    await bus.start()
    const Loop = topic('loop').of<Record<string, unknown>>()
    await bus.subscribe(Loop, () => {}, { group: 'g' })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(bus.publish(Loop, cyclic)).rejects.toThrow(/circular/)
    await expect(bus.publish(Loop, { big: 1n })).rejects.toThrow(/BigInt/)
    await bus.stop()
  })
})

describe('memory: bounded queues', () => {
  it('makes publish wait while a group holds `capacity` messages, and go on once one is acknowledged', async () => {
    const bus = new Bus({ broker: new MemoryBroker({ capacity: 2 }) })
    await bus.start()
    const Full = topic('full').of<number>()
    const held = gate()
    const handled: number[] = []
    await bus.subscribe(Full, async (m) => { await held.promise; handled.push(m.payload) }, { group: 'slow' })
    await bus.publish(Full, 1)
    await bus.publish(Full, 2)
    let third = false
    const publishing = bus.publish(Full, 3).then(() => (third = true))
    // Give the event loop every chance to let it through, were it not held.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(third).toBe(false)
    held.open()
    await publishing
    await eventually(() => expect(handled).toEqual([1, 2, 3]))
    await bus.stop()
  })

  it('drops nothing for a topic with no group yet, and delivers only what is published after a group exists', async () => {
    const bus = new Bus({ broker: new MemoryBroker() })
    await bus.start()
    const Late = topic('late').of<number>()
    await bus.publish(Late, 1)
    const seen: number[] = []
    await bus.subscribe(Late, (m) => void seen.push(m.payload), { group: 'g' })
    await bus.publish(Late, 2)
    await eventually(() => expect(seen).toEqual([2]))
    await bus.stop()
  })
})
