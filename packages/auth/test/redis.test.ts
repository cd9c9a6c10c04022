import { randomBytes } from 'node:crypto'
import { probeService } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisAttemptCounter, RedisRevocationStore } from '../src/index.js'
import { describeAttemptCounter } from './attempts.case.js'
import { describeRevocationStore } from './revocations.case.js'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', async () => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  try {
    await client.connect()
    await client.ping()
  } finally {
    client.disconnect()
  }
})

describe.skipIf(!redis.available)(redis.title('RedisAttemptCounter and RedisRevocationStore'), () => {
  const client = new Redis(url, { lazyConnect: true })
  // Each counter under a prefix of its own, all removed at the end.
  const run = `plinth-auth-test:${process.pid}:${randomBytes(4).toString('hex')}:`
  let n = 0
  afterAll(async () => {
    const keys = await client.keys(`${run}*`)
    if (keys.length > 0) await client.del(...keys)
    client.disconnect()
  })

  describeAttemptCounter(() => new RedisAttemptCounter(client, { prefix: `${run}${n++}:` }))

  describe('RedisRevocationStore', () => {
    describeRevocationStore(() => new RedisRevocationStore(client, { prefix: `${run}revoked${n++}:` }))
  })

  it('shares counts and locks between instances on one Redis', async () => {
    const prefix = `${run}shared:`
    const one = new RedisAttemptCounter(client, { prefix })
    const secondClient = new Redis(url)
    const two = new RedisAttemptCounter(secondClient, { prefix })
    try {
      await one.fail('account:ada', 60_000)
      expect(await two.fail('account:ada', 60_000)).toBe(2)
      await two.lock('account:ada', Date.now() + 30_000)
      expect(await one.lockedUntil('account:ada')).toBeGreaterThan(Date.now())
    } finally {
      secondClient.disconnect()
    }
  })

  it('lets counts expire with their window', async () => {
    const counter = new RedisAttemptCounter(client, { prefix: `${run}ttl:` })
    await counter.fail('account:ada', 60_000)
    const ttl = await client.pttl(`${run}ttl:failures:account:ada`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})
