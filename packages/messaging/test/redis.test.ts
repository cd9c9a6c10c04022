import { createLogger } from '@plinth/core'
import { probeService } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { Bus, RedisBroker, topic } from '../src/index.js'
import { busConformance, eventually, gate, restartConformance } from './conformance.js'
import { ownRedis, type OwnServer } from './servers.js'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: new URL(url).hostname, port: Number(new URL(url).port || 6379) })

async function removeKeys(target: string, prefix: string): Promise<void> {
  const client = new Redis(target)
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    cursor = next
    if (keys.length > 0) await client.del(...keys)
  } while (cursor !== '0')
  await client.quit()
}

describe.skipIf(!redis.available)(redis.title('Redis Streams'), () => {
  busConformance({
    name: 'redis',
    world: () => {
      const prefix = `plinth-test-${Math.random().toString(36).slice(2, 10)}:`
      return Promise.resolve({
        instance: (options) => new Bus({ ...options, broker: new RedisBroker({ url, prefix }) }),
        cleanup: () => removeKeys(url, prefix),
      })
    },
  })

  describe('redis: keys and trimming', () => {
    it('keeps a stream per topic trimmed near maxLen', async () => {
      const prefix = `plinth-test-${Math.random().toString(36).slice(2, 10)}:`
      const broker = new RedisBroker({ url, prefix, maxLen: 100 })
      const bus = new Bus({ broker })
      await bus.start()
      try {
        const Many = topic('many').of<number>()
        await Promise.all(Array.from({ length: 1_000 }, (_, i) => bus.publish(Many, i)))
        const client = new Redis(url)
        const length = await client.xlen(broker.streamKey('many'))
        await client.quit()
        // Approximate trimming (MAXLEN ~) removes whole macro-nodes: a little over 100, far under 1 000.
        expect(length).toBeGreaterThanOrEqual(100)
        expect(length).toBeLessThan(300)
      } finally {
        await bus.stop()
        await removeKeys(url, prefix)
      }
    })

    it('says once, without a stack, that fetching fails when the stream is deleted under a subscription, and that it works again', async () => {
      const prefix = `plinth-test-${Math.random().toString(36).slice(2, 10)}:`
      const broker = new RedisBroker({ url, prefix, blockTime: 100 })
      const lines: Record<string, unknown>[] = []
      const bus = new Bus({ broker, log: createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } }) })
      await bus.start()
      const client = new Redis(url)
      try {
        const Kept = topic('kept').of<number>()
        const handled: number[] = []
        await bus.subscribe(Kept, (m) => void handled.push(m.payload), { group: 'g' })
        await bus.publish(Kept, 1)
        await eventually(() => expect(handled).toEqual([1]))
        await client.del(broker.streamKey('kept'))
        // The group is made again, and what is published afterwards is handled.
        await eventually(() => bus.publish(Kept, 2).then(() => expect(handled).toContain(2)), 10_000)
        await eventually(() => expect(lines.some((line) => String(line.msg).startsWith('fetching messages of kept works again'))).toBe(true))
        const warnings = lines.filter((line) => line.level === 40)
        expect(warnings.map((line) => line.msg)).toEqual([expect.stringMatching(/^fetching messages of kept failed \((NOGROUP|UNBLOCKED).*\); trying again$/)])
        expect(warnings[0]).not.toHaveProperty('err')
      } finally {
        await client.quit()
        await bus.stop()
        await removeKeys(url, prefix)
      }
    })

    it('fails to start with the masked URL when nothing listens there, and starts degraded when optional', async () => {
      const broker = new RedisBroker({ url: 'redis://:hunter2@127.0.0.1:1', redis: { retryStrategy: () => null } })
      const failure = await new Bus({ broker }).start().catch((error: unknown) => error as Error)
      expect(failure).toMatchObject({ code: 'PLINTH_ERR_MESSAGING_UNAVAILABLE' })
      expect(failure!.message).toContain('redis://:***@127.0.0.1:1')
      expect(failure!.message).not.toContain('hunter2')
      const degraded = new Bus({ broker: new RedisBroker({ url: 'redis://127.0.0.1:1', redis: { retryStrategy: () => null } }) })
      await degraded.start({ optional: true })
      expect(degraded.state).toBe('degraded')
      expect(await degraded.health()).toMatchObject({ status: 'down' })
      await degraded.stop()
    })

    it('reports consumer lag in its health', async () => {
      const prefix = `plinth-test-${Math.random().toString(36).slice(2, 10)}:`
      const bus = new Bus({ broker: new RedisBroker({ url, prefix }) })
      await bus.start()
      try {
        const Lagging = topic('lagging').of<number>()
        const held = gate()
        await bus.subscribe(Lagging, () => held.promise, { group: 'g' })
        for (let i = 0; i < 5; i++) await bus.publish(Lagging, i)
        await eventually(async () => expect(await bus.health()).toMatchObject({ status: 'up', details: { lag: { 'lagging/g': 4 } } }))
        held.open()
      } finally {
        await bus.stop(AbortSignal.timeout(1_000))
        await removeKeys(url, prefix)
      }
    })
  })
})

describe('redis: a redis-server of the test own', () => {
  let server: OwnServer | undefined
  afterAll(() => server?.stop())
  restartConformance({
    name: 'redis',
    world: async () => {
      server ??= await ownRedis()
      const own = server
      return {
        instance: (options) => new Bus({ ...options, broker: new RedisBroker({ url: own.url, prefix: 'restart:' }) }),
        cleanup: () => Promise.resolve(),
        restart: () => own.restart(),
      }
    },
  })
})

describe.skipIf(!redis.available)(redis.title('redis: consumers'), () => {
  it('removes its consumer from the group at stop when it holds nothing, and keeps one that still holds messages', async () => {
    const prefix = `plinth-test-${Math.random().toString(36).slice(2, 10)}:`
    const client = new Redis(url)
    const consumersOf = async (broker: RedisBroker) => ((await client.xinfo('CONSUMERS', broker.streamKey('idle'), 'g')) as unknown[][]).map((fields) => fields[1])
    try {
      const quiet = new RedisBroker({ url, prefix })
      const idle = new Bus({ broker: quiet, instanceId: 'quiet' })
      await idle.start()
      const holding = new Bus({ broker: new RedisBroker({ url, prefix }), instanceId: 'holding' })
      await holding.start()
      const Idle = topic('idle').of<number>()
      const never = gate()
      let held = 0
      // The holding instance alone first: it takes (and holds) every message.
      await holding.subscribe(Idle, async () => { held++; await never.promise }, { group: 'g', concurrency: 3 })
      for (let i = 0; i < 3; i++) await idle.publish(Idle, i)
      await eventually(() => expect(held).toBe(3))
      // Then the quiet one, which handles (and acknowledges) the next while the other is full.
      let handled = 0
      await idle.subscribe(Idle, () => void handled++, { group: 'g' })
      await idle.publish(Idle, 3)
      await eventually(() => expect(handled).toBe(1))
      expect((await consumersOf(quiet)).sort()).toEqual(['holding', 'quiet'])
      await idle.stop()
      await holding.stop(AbortSignal.timeout(10))
      expect(await consumersOf(quiet)).toEqual(['holding'])
    } finally {
      await removeKeys(url, prefix)
      await client.quit()
    }
  })
})
