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
