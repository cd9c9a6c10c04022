import { AuthAttempts, AuthRevocations, MemoryAttemptCounter, RedisAttemptCounter, type RevocationStore } from '@plinth/auth'
import { AppCache } from '@plinth/cache'
import { component, provide } from '@plinth/core'
import type { Redis } from 'ioredis'
import { AppConfig } from '../../config.js'

/**
 * The Redis connection of auth's failed-login counts and locks, when REDIS_URL is set, so that
 * every instance counts the same failures. Without it they stay in memory (one instance).
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

/**
 * The deny list of revoked access tokens lives in the app's cache: in memory alone, or in Redis
 * (shared by every instance, so a logout on one is honoured by all) when REDIS_URL is set. Each
 * entry lives as long as the token it denies.
 */
export const authRevocations = provide(AuthRevocations, {
  deps: { cache: AppCache },
  create: ({ cache }): RevocationStore => {
    const revoked = cache.namespace('auth-revoked')
    return {
      put: (key, value, expiresAt) => revoked.set(key, value, { ttl: Math.max(1, expiresAt - Date.now()) }),
      get: (key) => revoked.get<number>(key),
    }
  },
})
