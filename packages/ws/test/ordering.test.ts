import { createApp, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { wsBroadcast, WsHandlers, wsHandler, wsServer } from '../src/index.js'
import { TestClient } from '../src/testing.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const notes: string[] = []
let openGate: (() => void) | undefined

const handlers = [
  // A write that takes a while (a database round trip), then a read of what was written.
  provide(WsHandlers, {
    value: wsHandler<{ text: string }>('note.add', {
      handle: async ({ text }) => {
        await new Promise((resolve) => setTimeout(resolve, 30))
        notes.push(text)
        return { added: text }
      },
    }),
  }),
  provide(WsHandlers, { value: wsHandler('note.list', { handle: () => [...notes] }) }),
  // A concurrent handler that waits for a later message: ordered, it would wait forever.
  provide(WsHandlers, {
    value: wsHandler('gate.wait', {
      concurrent: true,
      handle: () => new Promise<string>((resolve) => (openGate = () => resolve('passed'))),
    }),
  }),
  provide(WsHandlers, { value: wsHandler('gate.open', { handle: () => (openGate?.(), 'opened') }) }),
]

async function connect() {
  const server = wsServer({ port: 0 })
  const app = createApp({ name: 'ws-order', components: [server, wsBroadcast, ...handlers], logging: { level: 'silent' } })
  const t = await startTestApp(app)
  cleanup.push(() => t.stop().catch(() => undefined))
  const client = await TestClient.connect(app.endpoints().find((e) => e.name === 'websocket')!.url)
  cleanup.push(async () => client.close())
  return client
}

describe('message order on one socket', () => {
  it('handles a socket\'s messages in the order sent: a read after a write sees the write', async () => {
    notes.length = 0
    const client = await connect()
    client.send({ type: 'note.add', id: 'w', data: { text: 'first' } })
    client.send({ type: 'note.list', id: 'r' })
    const read = await client.next((m) => m.id === 'r')
    expect(read).toEqual({ type: 'result', id: 'r', data: ['first'] })
    expect(client.received.filter((m) => m.type === 'result').map((m) => m.id)).toEqual(['w', 'r'])
  })

  it('lets a handler that opts into concurrency run beside the messages sent after it', async () => {
    const client = await connect()
    client.send({ type: 'gate.wait', id: 'g' })
    client.send({ type: 'gate.open', id: 'o' })
    expect((await client.next((m) => m.id === 'g')).data).toBe('passed')
    expect((await client.next((m) => m.id === 'o')).data).toBe('opened')
  })
})
