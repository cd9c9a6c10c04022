import { createServer, type AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { isPlinthError } from '@plinth/core'
import { randomBytes } from 'node:crypto'
import { probeService } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { RedisEventStore } from '../src/index.js'
import { eventStoreConformance } from './conformance.js'

const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })

eventStoreConformance(redis.title('Redis Streams'), () => {
  // Each run under a prefix of its own, removed afterwards.
  const prefix = `plinth-test:{events-${randomBytes(4).toString('hex')}}:`
  return {
    open: () => Promise.resolve(new RedisEventStore({ connection: url, prefix })),
    async dispose() {
      const admin = new Redis(url)
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
      await admin.quit()
    },
  }
}, redis.available)

describe('the Redis event store with Redis gone', () => {
  it('refuses an append at once with PLINTH_ERR_EVENTS_UNAVAILABLE and writes nothing', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
    const store = new RedisEventStore({ connection: `redis://127.0.0.1:${closed}` })
    const error = await store.append('s', [{ type: 'x', data: {} }]).catch((e: unknown) => e)
    expect(isPlinthError(error, 'PLINTH_ERR_EVENTS_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toMatch(/^Redis at redis:\/\/127.0.0.1:\d+ behind the event store failed: .*ECONNREFUSED/)
    await store.close()
  })
})
