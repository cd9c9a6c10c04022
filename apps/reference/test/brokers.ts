/** The brokers the multi-instance tests run on, probed once, and the cleanup of a run's keys. */
import { probeService } from '@plinth/core/testing'
import { JetStreamBroker } from '@plinth/messaging'
import { Redis } from 'ioredis'

export const redisUrl = 'redis://127.0.0.1:6379'
export const natsUrl = 'nats://127.0.0.1:4222'

export const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })

// The server, and the client packages too (loaded only for NATS): a missing one is the skip's reason.
export const nats = await probeService('NATS (server and @nats-io client)', async () => {
  const broker = new JetStreamBroker({ url: natsUrl })
  await broker.connect()
  await broker.close()
})

/** Removes every Redis key under a run's prefix. */
export async function dropRedisKeys(prefix: string): Promise<void> {
  const client = new Redis(redisUrl)
  const keys = await client.keys(`${prefix}:*`)
  if (keys.length > 0) await client.del(...keys)
  await client.quit()
}
