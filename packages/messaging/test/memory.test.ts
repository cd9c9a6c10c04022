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
