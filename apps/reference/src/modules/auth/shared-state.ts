import { AuthAttempts, AuthRevocations, MemoryAttemptCounter, MemoryRevocationStore, RedisAttemptCounter, RedisRevocationStore } from '@plinth/auth'
import { component, provide } from '@plinth/core'
import type { Redis } from 'ioredis'
import { AppConfig } from '../../config.js'

/**
 * The Redis connection of auth's shared state, when REDIS_URL is set: failed-login counts and
 * locks, and revoked tokens, so that every instance counts the same failures and honours the
 * same logouts. Without it both stay in memory (one instance).
 */
export const authRedis = component('auth-redis', {
  deps: { config: AppConfig },
  create: async ({ config }): Promise<{ client: Redis | undefined }> => {
    if (!config.redisUrl) return { client: undefined }
    const { Redis } = await import('ioredis')
    return { client: new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 }) }
  },
  stop: async ({ client }) => {
    await client?.quit()
  },
})

export const authAttempts = provide(AuthAttempts, {
  deps: { redis: authRedis },
  create: ({ redis }) => (redis.client ? new RedisAttemptCounter(redis.client, { prefix: 'plinth:reference:auth:' }) : new MemoryAttemptCounter()),
})

export const authRevocations = provide(AuthRevocations, {
  deps: { redis: authRedis },
  create: ({ redis }) => (redis.client ? new RedisRevocationStore(redis.client, { prefix: 'plinth:reference:auth:revoked:' }) : new MemoryRevocationStore()),
})
