import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Health, createApp, provide } from '@plinth/core'
import { probeService, startTestApp } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { Discovery, DiscoveryRegistry, RedisRegistry, discovery as discoveryComponent } from '@plinth/discovery'
import { registryConformance } from './conformance.js'
import { logSink, serverComponent } from './helpers.js'

const redisUrl = 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })

// Every run has its own prefix, removed afterwards: other sessions use the same server.
const prefix = `plinth-test:discovery:${Math.random().toString(36).slice(2, 10)}`

async function removeKeys(): Promise<void> {
  const client = new Redis(redisUrl)
  try {
    const keys = await client.keys(`${prefix}:*`)
    if (keys.length > 0) await client.del(...keys)
  } finally {
    await client.quit()
  }
}

describe.skipIf(!redis.available)(redis.title('on Redis'), () => {
  registryConformance('redis', {
    create: async ({ ttl }) => {
      return new RedisRegistry({ url: redisUrl, prefix, ttl })
    },
    cleanup: removeKeys,
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function startRedisServer(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
}

describe('a Redis registry that is unreachable at start', () => {
  it('leaves the app serving, degraded, says so once, and registers when Redis comes up', async () => {
    const port = await freePort()
    const log = logSink()
    const registry = new RedisRegistry({ url: `redis://127.0.0.1:${port}`, ttl: 1_500, prefix })
    const app = createApp({
      name: 'orders',
      components: [serverComponent({ http: 'http://127.0.0.1:8123' }), discoveryComponent({ instanceId: 'orders-redis-1' }), provide(DiscoveryRegistry, { value: registry, stop: (r) => r.close() })],
      shutdown: { drainDelay: 0 },
      logging: { level: 'info', destination: log.destination },
    })
    let server: ChildProcess | undefined
    try {
      await using t = await startTestApp(app)
      expect(t.app.ready).toBe(true)
      const self = t.get(Discovery).self!
      await waitFor(() => self.state === 'retrying')
      // Several retries go by; the log says it once.
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      const unreachable = log.messages('warn').filter((m) => m.includes('unreachable'))
      expect(unreachable).toHaveLength(1)
      expect(unreachable[0]).toContain(`the redis registry is unreachable (PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE: the redis registry at 127.0.0.1:${port} did not answer`)
      expect(log.lines.find((line) => line.msg === unreachable[0])).not.toHaveProperty('err')
      expect(unreachable[0]).toContain('serving unregistered and retrying in the background')
      const health = await t.resolve(Health)
      await health.checkNow('discovery')
      const check = health.report().checks.find((c) => c.name === 'discovery')
      expect(check?.status).toBe('degraded')
      expect(check?.details).toMatchObject({ registry: 'redis', state: 'retrying' })

      server = startRedisServer(port)
      await waitFor(() => self.state === 'registered', 15_000)
      expect(log.messages('info').filter((m) => m.includes('reachable again'))).toHaveLength(1)
      expect((await registry.instances('orders')).map((i) => i.id)).toEqual([self.instance!.id])
    } finally {
      server?.kill('SIGKILL')
    }
  }, 30_000)
})


async function waitFor(condition: () => boolean, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
