import { describe, expect, it } from 'vitest'
import { createApp, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Routes, httpServer } from '@plinth/http'
import { MessageBus, correlateRequests, messaging, topic, type Message } from '../src/index.js'
import { eventually } from './conformance.js'

const Ordered = topic('orders.placed').of<{ order: number }>()

async function boot() {
  const received: Message<{ order: number }>[] = []
  const routes = provide(Routes, {
    deps: { bus: MessageBus },
    create: ({ bus }) => async (http: import('fastify').FastifyInstance) => {
      await http.register(correlateRequests())
      http.post<{ Params: { order: string } }>('/orders/:order', async (request) => {
        // After an await, as a handler that stored something first would.
        await new Promise((resolve) => setTimeout(resolve, 1))
        return bus.publish(Ordered, { order: Number(request.params.order) })
      })
    },
  })
  const server = httpServer({ listen: false })
  const t = await startTestApp(createApp({ name: 'correlation-test', components: [server, messaging(), routes], logging: { level: 'silent' } }))
  const bus = t.get(MessageBus)
  await bus.subscribe(Ordered, (m) => void received.push(m), { group: 'audit' })
  return { t, http: t.get(server).fastify, received }
}

describe('correlation from HTTP requests', () => {
  it("gives what a route publishes the caller's correlation id and the request id as causation", async () => {
    const { t, http, received } = await boot()
    try {
      const response = await http.inject({ method: 'POST', url: '/orders/7', headers: { 'x-correlation-id': 'checkout-19', 'x-request-id': 'req-7' } })
      expect(response.statusCode).toBe(200)
      await eventually(() => expect(received).toHaveLength(1))
      expect(received[0]).toMatchObject({ payload: { order: 7 }, correlationId: 'checkout-19', causationId: 'req-7' })
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
})
