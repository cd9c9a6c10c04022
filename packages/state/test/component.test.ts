import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createApp } from '@plinth/core'
import { probeService, startTestApp } from '@plinth/core/testing'
import { MemoryStateStore, RedisStateStore, States, appState, createStateStore, state, stateUrl } from '@plinth/state'

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const quiet = { level: 'silent' } as const
const visits = state('visits').of<number>({ scope: 'app' })

describe('the state component', () => {
  it('chooses its store: the option, else STATE_URL, else REDIS_URL, else memory', () => {
    expect(stateUrl({ url: 'redis://a' }, { STATE_URL: 'redis://b', REDIS_URL: 'redis://c' })).toBe('redis://a')
    expect(stateUrl({}, { STATE_URL: 'redis://b', REDIS_URL: 'redis://c' })).toBe('redis://b')
    expect(stateUrl({}, { REDIS_URL: 'redis://c' })).toBe('redis://c')
    expect(stateUrl({}, {})).toBe('memory://')
    expect(createStateStore('memory://')).toBeInstanceOf(MemoryStateStore)
    expect(() => createStateStore('mongodb://user:secret@x')).toThrow('state store URL "mongodb://***@x" is neither')
  })

  it('opens the app bucket at start, so app state is writable at once', async () => {
    await using t = await startTestApp(createApp({ name: 'state-app', components: [...appState()], logging: quiet }))
    await t.get(States).set(visits, 1)
    expect(await t.get(States).get(visits)).toBe(1)
  })

  it('fails to start when its Redis is unreachable: state has no fallback that stays consistent', async () => {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    server.close()
    await expect(
      startTestApp(createApp({ name: 'state-down', components: [...appState({ store: new RedisStateStore({ url: `redis://127.0.0.1:${port}` }) })], logging: quiet })),
    ).rejects.toThrow()
  })

  it.skipIf(!redis.available)(redis.title('keeps state in Redis under STATE_PREFIX when REDIS_URL is set'), async () => {
    const prefix = `plinth-test:state-component:${randomUUID().slice(0, 8)}`
    {
      await using t = await startTestApp(createApp({ name: 'state-redis', components: [...appState()], logging: quiet }), { env: { REDIS_URL: 'redis://127.0.0.1:6379', STATE_PREFIX: prefix } })
      await t.get(States).update(visits, (n = 0) => n + 1)
    }
    const admin = new Redis('redis://127.0.0.1:6379')
    expect(await admin.hget(`${prefix}:b:app`, 'v:visits')).toBe('1')
    await admin.unlink(`${prefix}:b:app`)
    await admin.quit()
  })
})
