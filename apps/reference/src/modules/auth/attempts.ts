import { AuthAttempts, MemoryAttemptCounter, RedisAttemptCounter, type AttemptCounter } from '@plinth/auth'
import { provide } from '@plinth/core'
import { AppConfig } from '../../config.js'

/**
 * Failed-login counters: in Redis when REDIS_URL is set, so that every instance counts the same
 * failures and honours the same locks; in memory otherwise.
 */
export const authAttempts = provide(AuthAttempts, {
  deps: { config: AppConfig },
  create: async ({ config }): Promise<AttemptCounter> => {
    if (!config.redisUrl) return new MemoryAttemptCounter()
    const { Redis } = await import('ioredis')
    const client = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 })
    return Object.assign(new RedisAttemptCounter(client, { prefix: 'plinth:reference:auth:' }), { close: () => client.quit() })
  },
  stop: async (counter) => {
    await (counter as { close?: () => Promise<unknown> }).close?.()
  },
})
