import { createServer, type Socket } from 'node:net'
import { createApp, provide, type AnyProvider, type PreflightReport } from '@plinth/core'
import { probeService } from '@plinth/core/testing'
import { WsPubSub, wsServer } from '@plinth/ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BusPubSub, MessageBus, messaging } from '../src/index.js'

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const nats = await probeService('NATS', { host: '127.0.0.1', port: 4222 })
const silent = { level: 'silent' } as const
const find = (report: PreflightReport, category: string, name: string) => report.results.find((r) => r.category === category && r.name === name)
const broker = (report: PreflightReport) => find(report, 'external', 'message broker reachable')
const validate = (env: NodeJS.ProcessEnv, components: AnyProvider[] = [messaging()], timeout = 3_000) =>
  createApp({ name: 'plant', logging: silent, components }).preflight({ env: { APP_ENV: 'production', ...env }, only: ['external', 'websocket'], timeout })

describe('the message broker preflight without a broker', () => {
  it('in memory: passes in development, warns in production that instances share no events', async () => {
    expect(broker(await validate({ APP_ENV: 'development' }))).toMatchObject({ status: 'pass', found: expect.stringContaining('in memory') })
    expect(broker(await validate({}))).toMatchObject({ status: 'warn', fix: expect.stringContaining('MESSAGING_URL') })
  })

  it('a refused connection fails with the cause and the URL, its password masked', async () => {
    const result = broker(await validate({ MESSAGING_URL: 'redis://app:s3cret-pw@127.0.0.1:1' }))
    expect(result).toMatchObject({ status: 'fail', found: expect.stringMatching(/redis:\/\/app:\*\*\*@127\.0\.0\.1:1.*ECONNREFUSED/), fix: expect.stringContaining('(from MESSAGING_URL)') })
    expect(JSON.stringify(result)).not.toContain('s3cret-pw')
  })

  describe('a broker that accepts connections and never answers', () => {
    const sockets = new Set<Socket>()
    const silentServer = createServer((socket) => sockets.add(socket))
    let port = 0
    beforeAll(async () => {
      await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve))
      port = (silentServer.address() as { port: number }).port
    })
    afterAll(() => {
      for (const socket of sockets) socket.destroy()
      silentServer.close()
    })

    it('fails at the check deadline, not a stack trace', async () => {
      const result = broker(await validate({ MESSAGING_URL: `nats://127.0.0.1:${port}` }, [messaging()], 800))
      expect(result).toMatchObject({ status: 'fail', found: expect.stringMatching(/800 ms/) })
      expect(result!.found).not.toMatch(/\n\s+at /)
    })
  })
})

// The WebSocket server's pub/sub on the bus, as an app wires it: the probe crosses the broker.
const wsOverBus = provide(WsPubSub, { deps: { bus: MessageBus }, create: ({ bus }) => new BusPubSub(bus, { topic: `preflight.ws.${process.pid}` }) })

describe.skipIf(!redis.available)(redis.title('the message broker preflight on Redis'), () => {
  it('answers, and a WebSocket broadcast probe travels through it', async () => {
    const report = await validate({ MESSAGING_URL: 'redis://127.0.0.1:6379' }, [messaging(), wsServer({ port: 0 }), wsOverBus])
    expect(broker(report)).toMatchObject({ status: 'pass', found: expect.stringMatching(/^redis at redis:\/\/127\.0\.0\.1:6379 answered in \d+\.\d ms$/) })
    expect(find(report, 'websocket', 'pub/sub across instances')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^a probe published on BusPubSub came back in \d+ ms$/) })
  })

  it('a password Redis does not expect fails with its refusal, masked', async () => {
    const result = broker(await validate({ MESSAGING_URL: 'redis://app:wrong-pw@127.0.0.1:6379' }))
    expect(result).toMatchObject({ status: 'fail', found: expect.stringMatching(/redis:\/\/app:\*\*\*@127\.0\.0\.1:6379.*(WRONGPASS|AUTH|NOAUTH)/) })
    expect(JSON.stringify(result)).not.toContain('wrong-pw')
  })
})

describe.skipIf(!nats.available)(nats.title('the message broker preflight on NATS JetStream'), () => {
  it('answers, and a WebSocket broadcast probe travels through it', async () => {
    const report = await validate({ MESSAGING_URL: 'nats://127.0.0.1:4222' }, [messaging(), wsServer({ port: 0 }), wsOverBus])
    expect(broker(report)).toMatchObject({ status: 'pass', found: expect.stringMatching(/^nats at nats:\/\/127\.0\.0\.1:4222 answered in \d+\.\d ms$/) })
    expect(find(report, 'websocket', 'pub/sub across instances')).toMatchObject({ status: 'pass' })
  })
})
