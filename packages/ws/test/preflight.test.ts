import { createServer as createHttpServer } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'
import { createApp, provide, type AnyProvider, type PreflightReport } from '@plinth/core'
import { freePort } from '@plinth/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryPubSub, WsPubSub, wsServer, type PubSub } from '../src/index.js'

const silent = { level: 'silent' } as const
const closers: (() => unknown)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})
const row = (report: PreflightReport, name: string) => report.results.find((r) => r.category === 'websocket' && r.name === name)
const validate = (components: AnyProvider[], env: NodeJS.ProcessEnv = {}, timeout = 3_000) =>
  createApp({ name: 'chat', logging: silent, components }).preflight({ env: { APP_ENV: 'production', ...env }, only: 'websocket', timeout })

async function listening(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => sockets.add(socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => (server.close(resolve), sockets.forEach((socket) => socket.destroy()))))
  return (server.address() as { port: number }).port
}


describe('the WebSocket preflight: server reachable', () => {
  it('before a rollout: nothing listens yet and the address is free for the server', async () => {
    const port = await freePort()
    expect(row(await validate([wsServer()], { WS_PORT: String(port) }), 'server reachable')).toMatchObject({ status: 'pass', found: `nothing listens on ws://127.0.0.1:${port}/ yet; 127.0.0.1:${port} is free for the server` })
  })

  it('a running instance answers a real WebSocket handshake', async () => {
    const server = wsServer({ port: 0 })
    const running = createApp({ name: 'chat', logging: silent, components: [server] })
    await running.start()
    closers.push(() => running.stop())
    const port = Number(new URL(running.container.get(server.provides).url).port)
    expect(row(await validate([wsServer()], { WS_PORT: String(port) }), 'server reachable')).toMatchObject({ status: 'pass', found: `ws://127.0.0.1:${port}/ answered the WebSocket handshake (a running instance)` })
  })

  it('a plain HTTP server on the port fails with the status it answered', async () => {
    const port = await listening(createHttpServer((_req, res) => res.end('hello')))
    expect(row(await validate([wsServer()], { WS_PORT: String(port) }), 'server reachable')).toMatchObject({ status: 'fail', found: `ws://127.0.0.1:${port}/ answered HTTP 200 instead of upgrading to WebSocket`, fix: expect.stringContaining('port of its own') })
  })

  it('a port that accepts and never answers fails at the deadline, without holding the report', async () => {
    const port = await listening(createServer(() => undefined))
    const result = row(await validate([wsServer()], { WS_PORT: String(port) }, 800), 'server reachable')
    expect(result).toMatchObject({ status: 'fail', found: expect.stringMatching(/800 ms/) })
    expect(result!.fix).toBeTruthy()
  })

  it('a host that is not on this machine fails: the server could not listen there', async () => {
    const port = await freePort()
    // TEST-NET-1 (RFC 5737): routed nowhere; connecting is refused or times out, binding fails at once.
    const result = row(await validate([wsServer({ host: '192.0.2.1', port })], {}, 1_500), 'server reachable')
    expect(result).toMatchObject({ status: 'fail' })
    expect(result!.found).not.toMatch(/\n\s+at /)
  })
})

describe('the WebSocket preflight: pub/sub across instances', () => {
  it('not configured: passes, saying broadcasts stay on this instance', async () => {
    expect(row(await validate([wsServer({ port: 0 })]), 'pub/sub across instances')).toMatchObject({ status: 'pass', found: expect.stringContaining('not configured') })
  })

  it('a pub/sub that carries the probe passes with its round trip', async () => {
    const report = await validate([wsServer({ port: 0 }), provide(WsPubSub, { create: () => new MemoryPubSub() })])
    expect(row(report, 'pub/sub across instances')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^a probe published on MemoryPubSub came back in \d+ ms$/) })
  })

  it('a pub/sub that loses what is published fails at the deadline', async () => {
    // Accepts publishes and subscriptions, delivers nothing: a bus whose instances do not hear each other.
    const deaf: PubSub = { publish: () => Promise.resolve(), subscribe: () => Promise.resolve(() => Promise.resolve()) }
    const result = row(await validate([wsServer({ port: 0 }), provide(WsPubSub, { value: deaf })], {}, 800), 'pub/sub across instances')
    expect(result).toMatchObject({ status: 'fail', found: expect.stringMatching(/800 ms/) })
  })
})
