import { describe, expect, it } from 'vitest'
import { createApp, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Routes, httpServer, type HttpServerOptions } from '@plinth/http'
import { MessageBus, correlateRequests, currentCausation, messaging, topic, type Message } from '../src/index.js'
import { eventually } from './conformance.js'

const Ordered = topic('orders.placed').of<{ order: number }>()

/** An app whose route publishes on the memory bus; nothing registered for correlation unless `plugin`. */
async function boot(options: HttpServerOptions = { listen: false }, plugin?: ReturnType<typeof correlateRequests>) {
  const received: Message<{ order: number }>[] = []
  const seen: Array<{ correlationId: string; causationId: string } | undefined> = []
  const routes = provide(Routes, {
    deps: { bus: MessageBus },
    create: ({ bus }) => async (http: import('fastify').FastifyInstance) => {
      if (plugin) await http.register(plugin)
      http.post<{ Params: { order: string } }>('/orders/:order', async (request) => {
        // After an await, as a handler that stored something first would.
        await new Promise((resolve) => setTimeout(resolve, 1))
        return bus.publish(Ordered, { order: Number(request.params.order) })
      })
    },
  })
  const server = httpServer(options)
  const t = await startTestApp(createApp({ name: 'correlation-test', components: [server, messaging(), routes], logging: { level: 'silent' } }))
  const bus = t.get(MessageBus)
  await bus.subscribe(
    Ordered,
    (m) => {
      received.push(m)
      seen.push(currentCausation())
    },
    { group: 'audit' },
  )
  return { t, server: t.get(server), http: t.get(server).fastify, received, seen }
}

describe('correlation from HTTP requests, with nothing registered', () => {
  it("gives what a route of a listening server publishes the caller's correlation id, and the handler sees it", async () => {
    const { t, server, received, seen } = await boot({ listen: true, port: 0 })
    try {
      const response = await fetch(`${server.url}/orders/7`, { method: 'POST', headers: { 'x-correlation-id': 'checkout-19', 'x-request-id': 'req-7' } })
      expect(response.status).toBe(200)
      await eventually(() => expect(received).toHaveLength(1))
      expect(received[0]).toMatchObject({ payload: { order: 7 }, correlationId: 'checkout-19', causationId: 'req-7' })
      // The subscriber runs as the message's effect: same correlation, the message as its cause.
      expect(seen[0]).toEqual({ correlationId: 'checkout-19', causationId: received[0]!.id })
    } finally {
      await t[Symbol.asyncDispose]()
    }
  })

  it('uses the request id as correlation when the caller sent none, and ignores one that is not plain', async () => {
    const { t, http, received } = await boot()
    try {
      await http.inject({ method: 'POST', url: '/orders/1', headers: { 'x-request-id': 'req-1' } })
      await http.inject({ method: 'POST', url: '/orders/2', headers: { 'x-request-id': 'req-2', 'x-correlation-id': 'bad id\twith tab' } })
      const third = await http.inject({ method: 'POST', url: '/orders/3' })
      await eventually(() => expect(received).toHaveLength(3))
      const byOrder = new Map(received.map((m) => [m.payload.order, m]))
      expect(byOrder.get(1)).toMatchObject({ correlationId: 'req-1', causationId: 'req-1' })
      expect(byOrder.get(2)).toMatchObject({ correlationId: 'req-2', causationId: 'req-2' })
      const generated = third.headers['x-request-id']
      expect(byOrder.get(3)).toMatchObject({ correlationId: generated, causationId: generated })
    } finally {
      await t[Symbol.asyncDispose]()
    }
  })

  it('reads the header the server names', async () => {
    const { t, http, received } = await boot({ listen: false, correlation: { header: 'X-Trace-Id' } })
    try {
      await http.inject({ method: 'POST', url: '/orders/4', headers: { 'x-trace-id': 'trace-4', 'x-correlation-id': 'ignored', 'x-request-id': 'req-4' } })
      await eventually(() => expect(received).toHaveLength(1))
      expect(received[0]).toMatchObject({ correlationId: 'trace-4', causationId: 'req-4' })
    } finally {
      await t[Symbol.asyncDispose]()
    }
  })

  it('leaves routes without a causal context when turned off: each message is its own correlation', async () => {
    const { t, http, received } = await boot({ listen: false, correlation: false })
    try {
      await http.inject({ method: 'POST', url: '/orders/5', headers: { 'x-correlation-id': 'checkout-5', 'x-request-id': 'req-5' } })
      await eventually(() => expect(received).toHaveLength(1))
      expect(received[0]).toMatchObject({ correlationId: received[0]!.id, causationId: undefined })
    } finally {
      await t[Symbol.asyncDispose]()
    }
  })

  it('still takes correlateRequests() on a server with correlation off', async () => {
    const { t, http, received } = await boot({ listen: false, correlation: false }, correlateRequests({ header: 'x-trace-id' }))
    try {
      await http.inject({ method: 'POST', url: '/orders/6', headers: { 'x-trace-id': 'trace-6', 'x-request-id': 'req-6' } })
      await eventually(() => expect(received).toHaveLength(1))
      expect(received[0]).toMatchObject({ correlationId: 'trace-6', causationId: 'req-6' })
    } finally {
      await t[Symbol.asyncDispose]()
    }
  })
})
