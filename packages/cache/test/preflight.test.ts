import { createApp, type PreflightReport } from '@plinth/core'
import { probeService } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appCache } from '../src/index.js'
import { OwnRedis } from './redis-server.js'

const service = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const silent = { level: 'silent' } as const
const row = (report: PreflightReport, name: string) => report.results.find((r) => r.category === 'cache' && r.name === name)
const run = (env: NodeJS.ProcessEnv) => createApp({ name: 'shop', logging: silent, components: [appCache()] }).preflight({ env, only: 'cache' })

describe('the cache preflight', () => {
  it('memory only: passes in development, warns in production that instances share nothing', async () => {
    expect(row(await run({}), 'Redis answers')).toMatchObject({ status: 'pass', found: 'memory only (no CACHE_URL or REDIS_URL)' })
    expect(row(await run({ APP_ENV: 'production' }), 'Redis answers')).toMatchObject({ status: 'warn', fix: expect.stringContaining('REDIS_URL') })
  })

  it('an unreachable Redis fails with the refused connection, and the check does not hang', async () => {
    const report = await run({ APP_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1' })
    expect(row(report, 'Redis answers')).toMatchObject({ status: 'fail', found: expect.stringContaining('ECONNREFUSED') })
    expect(row(report, 'eviction policy')).toMatchObject({ status: 'fail' })
  })
})

describe.skipIf(!service.available)(service.title('the cache preflight on Redis'), () => {
  let own: OwnRedis
  beforeAll(async () => {
    own = await OwnRedis.start()
  })
  afterAll(() => own.stop())

  it('answers, and reports noeviction as unsuited to a cache; allkeys-lru with a limit passes', async () => {
    const report = await run({ APP_ENV: 'production', REDIS_URL: own.url })
    expect(row(report, 'Redis answers')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^Redis \d+\.\d+\.\d+ answered PING in \d+\.\d ms$/) })
    expect(row(report, 'eviction policy')).toMatchObject({ status: 'warn', found: expect.stringContaining('noeviction'), fix: expect.stringContaining('allkeys-lru') })
    const admin = new Redis(own.url)
    await admin.config('SET', 'maxmemory', '64mb')
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
    await admin.quit()
    const tuned = await run({ APP_ENV: 'production', REDIS_URL: own.url })
    expect(row(tuned, 'eviction policy')).toMatchObject({ status: 'pass', found: 'allkeys-lru, maxmemory 64 MiB' })
  })
})
