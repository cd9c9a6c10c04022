import { probeService } from '@plinth/core/testing'
import type { PubSub } from '@plinth/ws'
import { describe, expect, it } from 'vitest'
import { pubsubConformance } from '../../ws/test/pubsub.case.js'
import { Bus, BusPubSub, MemoryBroker, RedisBroker } from '../src/index.js'
import { eventually } from './conformance.js'

// BusPubSub must fit where @plinth/ws expects a PubSub.
const asWsPubSub = (pubsub: BusPubSub): PubSub => pubsub

async function started(bus: Bus): Promise<Bus> {
  await bus.start()
  return bus
}

const shared = new MemoryBroker()
pubsubConformance('BusPubSub on memory', async () => asWsPubSub(new BusPubSub(await started(new Bus({ broker: shared })))))

describe('BusPubSub across instances', () => {
  it('delivers a broadcast published on one instance to listeners on every instance, and forgets its group at close', async () => {
    const broker = new MemoryBroker()
    const a = new BusPubSub(await started(new Bus({ broker })))
    const b = new BusPubSub(await started(new Bus({ broker })))
    const onA: string[] = []
    const onB: string[] = []
    await a.subscribe('room:1', (p) => onA.push(p))
    await b.subscribe('room:1', (p) => onB.push(p))
    await a.publish('room:1', 'hello')
    await eventually(() => {
      expect(onA).toEqual(['hello'])
      expect(onB).toEqual(['hello'])
    })
    await b.close()
    await a.publish('room:1', 'after b left')
    await eventually(() => expect(onA).toEqual(['hello', 'after b left']))
    expect(onB).toEqual(['hello'])
    await a.close()
  })
})

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
describe.skipIf(!redis.available)(redis.title('BusPubSub on Redis Streams'), () => {
  const prefix = `plinth-test-pubsub-${Math.random().toString(36).slice(2, 8)}:`
  pubsubConformance(
    'BusPubSub on Redis',
    async () => asWsPubSub(new BusPubSub(await started(new Bus({ broker: new RedisBroker({ url: 'redis://127.0.0.1:6379', prefix }) })))),
    () => new Promise((resolve) => setTimeout(resolve, 150)),
  )
})
