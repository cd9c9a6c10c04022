import { createServer } from 'node:net'
import { Health, Metrics, component, createApp, currentCausation, provide, type AnyProvider } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { WsBroadcast, WsHandlers, WsPubSub, MemoryPubSub, wsBroadcast, wsHandler, wsServer, type WsServerOptions } from '../src/index.js'
import { TestClient } from '@plinth/ws/testing'

const silent = { level: 'silent' } as const
const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

let served = 0
let slowStarted = 0
const perMessage = component('per-message', { lifetime: 'scoped', scope: 'request', create: () => ({ n: ++served }) })

const handlers: AnyProvider[] = [
  perMessage,
  provide(WsHandlers, {
    value: wsHandler('greet', {
      schema: z.object({ name: z.string().min(1) }),
      handle: ({ name }) => ({ greeting: `hello, ${name}` }),
    }),
  }),
  provide(WsHandlers, {
    value: wsHandler('scope', {
      handle: async (_data, ctx) => {
        const first = await ctx.resolve(perMessage)
        const second = await ctx.resolve(perMessage)
        return { same: first === second, n: first.n }
      },
    }),
  }),
  provide(WsHandlers, {
    value: wsHandler('causation', {
      // What a publish in the handler would carry, after an await as in real handlers.
      handle: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1))
        return currentCausation() ?? null
      },
    }),
  }),
  provide(WsHandlers, {
    value: wsHandler<{ room: string }>('missing', {
      handle: ({ room }) => {
        throw Object.assign(new Error(`no room "${room}"`), { status: 404 })
      },
    }),
  }),
  provide(WsHandlers, {
    value: wsHandler('crash', {
      handle: () => {
        throw new Error('secret database password in this message')
      },
    }),
  }),
  provide(WsHandlers, {
    value: wsHandler<{ ms: number }>('slow', {
      handle: async ({ ms }) => {
        slowStarted++
        return new Promise((resolve) => setTimeout(() => resolve({ waited: ms }), ms))
      },
    }),
  }),
]

async function startServer(options: WsServerOptions = {}, extra: AnyProvider[] = []) {
  const server = wsServer({ port: 0, ...options })
  const app = createApp({ name: 'ws-test', components: [server, wsBroadcast, ...handlers, ...extra], logging: silent })
  const t = await startTestApp(app)
  cleanup.push(() => t.stop().catch(() => undefined))
  const url = app.endpoints().find((e) => e.name === 'websocket')!.url
  const connect = async (opts?: ConstructorParameters<typeof TestClient>[1]) => {
    const client = await TestClient.connect(url, opts)
    cleanup.push(async () => client.close())
    return client
  }
  return { t, app, url, connect, server: t.get(server) }
}

describe('the WebSocket server', () => {
  it("runs each message's handler with the upgrade's correlation id, else the connection's, and the message as the cause", async () => {
    const { connect } = await startServer()
    const correlated = await connect({ headers: { 'x-correlation-id': 'checkout-19' } })
    const first = await correlated.request('causation', undefined, 'm-1')
    expect(first.data).toEqual({ correlationId: 'checkout-19', causationId: expect.stringMatching(/^[0-9a-f-]{36}:m-1$/) })
    const plain = await connect({ headers: { 'x-correlation-id': 'not plain; at all' } })
    const second = (await plain.request('causation', undefined, 7)).data as { correlationId: string; causationId: string }
    expect(second.causationId).toBe(`${second.correlationId}:7`)
    expect(second.correlationId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('answers a typed message with its result, validated by the handler schema', async () => {
    const { connect } = await startServer()
    const client = await connect()
    expect(await client.request('greet', { name: 'Ada' }, 1)).toEqual({ type: 'result', id: 1, data: { greeting: 'hello, Ada' } })
  })

  it('runs each message in its own request scope', async () => {
    const { connect } = await startServer()
    const client = await connect()
    const a = await client.request('scope')
    const b = await client.request('scope')
    expect(a.data.same).toBe(true)
    expect(b.data.same).toBe(true)
    expect(b.data.n).not.toBe(a.data.n)
  })

  it('answers every malformed, unknown or invalid message with an error, never silence', async () => {
    const { connect } = await startServer()
    const client = await connect()
    client.send('{not json')
    expect((await client.next((m) => m.type === 'error')).error).toMatchObject({ code: 'bad_message', message: expect.stringContaining('not valid JSON') })
    client.send({ id: 7, data: {} })
    expect(await client.next((m) => m.id === 7)).toMatchObject({ type: 'error', error: { code: 'bad_message' } })
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true })
    await client.next((m) => m.error?.message.includes('binary') === true)
    expect((await client.request('nope', {}, 'u')).error).toMatchObject({ code: 'unknown_type', details: { known: expect.arrayContaining(['greet', 'subscribe']) } })
    const invalid = await client.request('greet', { name: '' }, 'v')
    expect(invalid.error).toMatchObject({ code: 'invalid_data', details: { issues: [{ path: 'name' }] } })
    expect((await client.request('missing', { room: 'x' }, 'm')).error).toMatchObject({ code: 'not_found', message: 'no room "x"' })
    const crash = await client.request('crash', {}, 'c')
    expect(crash.error).toMatchObject({ code: 'internal_error' })
    expect(JSON.stringify(crash)).not.toContain('password')
  })

  it('closes a connection that sends a message over the size limit with 1009', async () => {
    const { connect } = await startServer({ maxMessageBytes: 1024 })
    const client = await connect()
    expect((await client.request('greet', { name: 'x'.repeat(900) })).type).toBe('result')
    client.send({ type: 'greet', data: { name: 'x'.repeat(2000) } })
    expect((await client.closed).code).toBe(1009)
  })

  it('rate-limits each connection and says when to retry', async () => {
    const { connect } = await startServer({ rateLimit: { messages: 3, interval: 60_000 } })
    const client = await connect()
    const other = await connect()
    for (const id of [1, 2, 3]) expect((await client.request('greet', { name: 'a' }, id)).type).toBe('result')
    const limited = await client.request('greet', { name: 'a' }, 4)
    expect(limited.error).toMatchObject({ code: 'rate_limited', details: { retryAfter: expect.any(Number) } })
    expect((await other.request('greet', { name: 'b' }, 1)).type).toBe('result')
  })

  it('drops a peer that stops answering pings and keeps the live ones', async () => {
    const { connect, server, t } = await startServer({ heartbeatInterval: 50 })
    const live = await connect()
    const dead = await connect({ autoPong: false })
    expect(server.size).toBe(2)
    await dead.closed
    await expect.poll(() => server.size).toBe(1)
    expect(live.socket.readyState).toBe(live.socket.OPEN)
    const metrics = await t.get(Metrics).render()
    expect(metrics.body).toContain('app_active_connections{server_type="websocket"} 1')
  })

  it('delivers a topic broadcast to subscribers only, until they unsubscribe', async () => {
    const { connect, t } = await startServer()
    const subscriber = await connect()
    const bystander = await connect()
    expect((await subscriber.request('subscribe', { topic: 'prices' })).data).toEqual({ topic: 'prices', subscribed: true })
    await t.get(WsBroadcast).broadcast('prices', { eur: 1.08 })
    expect(await subscriber.next((m) => m.type === 'event')).toEqual({ type: 'event', topic: 'prices', data: { eur: 1.08 } })
    await subscriber.request('unsubscribe', { topic: 'prices' })
    await subscriber.request('subscribe', { topic: 'news' })
    await t.get(WsBroadcast).broadcast('prices', { eur: 2 })
    await t.get(WsBroadcast).broadcast('news', { headline: 'after' })
    await subscriber.next((m) => m.topic === 'news')
    expect(subscriber.received.filter((m) => m.type === 'event').map((m) => m.topic)).toEqual(['prices', 'news'])
    expect(bystander.received).toEqual([])
    expect((await subscriber.request('subscribe', { topic: '' })).error?.code).toBe('invalid_data')
  })

  it('refuses topics the guard rejects', async () => {
    const { connect } = await startServer({ canSubscribe: (topic) => !topic.startsWith('admin:') })
    const client = await connect()
    expect((await client.request('subscribe', { topic: 'admin:audit' })).error?.code).toBe('forbidden')
  })

  it('reaches clients on every instance through the shared pub/sub backend, once each', async () => {
    const bus = new MemoryPubSub()
    const shared = provide(WsPubSub, { value: bus })
    const a = await startServer({}, [shared])
    const b = await startServer({}, [shared])
    const onA = await a.connect()
    const onB = await b.connect()
    await onA.request('subscribe', { topic: 'chat' })
    await onB.request('subscribe', { topic: 'chat' })
    await b.t.get(WsBroadcast).broadcast('chat', { text: 'hi from b' })
    await onA.next((m) => m.type === 'event')
    await onB.next((m) => m.type === 'event')
    await a.t.get(WsBroadcast).broadcast('chat', { text: 'end' })
    await onA.next((m) => m.data?.text === 'end')
    await onB.next((m) => m.data?.text === 'end')
    expect(onA.received.filter((m) => m.type === 'event')).toHaveLength(2)
    expect(onB.received.filter((m) => m.type === 'event')).toHaveLength(2)
    expect(bus.listeners('plinth:ws:chat')).toBe(2)
    onA.close()
    await onA.closed
    await expect.poll(() => bus.listeners('plinth:ws:chat')).toBe(1)
  })

  it('is ready while listening, and at shutdown finishes running handlers then closes clients with 1001', async () => {
    // The health registry runs when something needs it, as the HTTP or metrics server does.
    const probes = component('probes', { eager: true, deps: { health: Health }, create: ({ health }) => health })
    const { connect, t } = await startServer({}, [probes])
    const health = t.get(Health)
    await health.checkNow('ws-server')
    expect(health.report().checks.find((c) => c.name === 'ws-server')?.status).toBe('up')
    const client = await connect()
    const idle = await connect()
    const before = slowStarted
    client.send({ type: 'slow', id: 's', data: { ms: 200 } })
    await expect.poll(() => slowStarted).toBe(before + 1)
    await t.stop()
    expect(client.received).toContainEqual({ type: 'result', id: 's', data: { waited: 200 } })
    expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' })
    expect((await idle.closed).code).toBe(1001)
  })

  it('fails to start with PLINTH_ERR_LISTEN_FAILED when the port is taken', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => blocker.close(resolve)))
    const port = (blocker.address() as { port: number }).port
    const app = createApp({ name: 'ws-busy', components: [wsServer({ port })], logging: silent })
    await expect(startTestApp(app)).rejects.toThrow(/PLINTH_ERR_LISTEN_FAILED[\s\S]*already in use/)
  })

  it('refuses two handlers for one message type', async () => {
    const twice = [1, 2].map(() => provide(WsHandlers, { value: wsHandler('dup', { handle: () => null }) }))
    const app = createApp({ name: 'ws-dup', components: [wsServer({ port: 0 }), ...twice], logging: silent })
    await expect(startTestApp(app)).rejects.toThrow(/PLINTH_ERR_DUPLICATE_HANDLER[\s\S]*"dup"/)
  })
})
