import { component, createApp, Health, Metrics, provide, token } from '@plinth/core'
import { probeService, startTestApp } from '@plinth/core/testing'
import { describe, expect, it } from 'vitest'
import { brokerFor, chooseBroker, MessageBus, messaging, topic, type Message } from '../src/index.js'
import { eventually } from './conformance.js'

const Reading = topic('component.reading').of<{ value: number }>()
const quiet = { level: 'silent' } as const

/** A component that subscribes at start, as a user's module would. */
const received: Array<Message<{ value: number }>> = []
const PerMessage = token('per-message-counter').of<{ id: number }>()
let made = 0
const listener = component('reading-listener', {
  deps: { bus: MessageBus },
  create: ({ bus }) => bus,
  start: async (bus) => {
    await bus.subscribe(Reading, (m) => void received.push(m), { group: 'listener' })
  },
  eager: true,
})

describe('the messaging component', () => {
  it('chooses MESSAGING_URL, then NATS_URL, then REDIS_URL, else memory', () => {
    expect(chooseBroker({ MESSAGING_URL: 'redis://a', NATS_URL: 'nats://b', REDIS_URL: 'redis://c' })).toEqual({ url: 'redis://a', source: 'MESSAGING_URL' })
    expect(chooseBroker({ NATS_URL: 'nats://b', REDIS_URL: 'redis://c' })).toEqual({ url: 'nats://b', source: 'NATS_URL' })
    expect(chooseBroker({ REDIS_URL: 'redis://c' })).toEqual({ url: 'redis://c', source: 'REDIS_URL' })
    expect(chooseBroker({}).url).toBeUndefined()
    expect(brokerFor(undefined).kind).toBe('memory')
    expect(brokerFor('redis://x:1').kind).toBe('redis')
    expect(brokerFor('nats://x:1').kind).toBe('nats')
  })

  it('refuses a URL of another scheme, masking its password and naming where it came from', () => {
    expect(() => brokerFor('amqp://user:pw@rabbit:5672', {}, 'MESSAGING_URL')).toThrowError(
      expect.objectContaining({ code: 'PLINTH_ERR_MESSAGING_UNSUPPORTED_URL', message: expect.stringMatching(/amqp:\/\/user:\*\*\*@rabbit:5672 \(from MESSAGING_URL\).*"amqp"/) }) as Error,
    )
  })

  it('runs on memory when nothing is configured: handlers get messages, metrics count them, health reports the lag', async () => {
    received.length = 0
    await using t = await startTestApp(createApp({ name: 'memory-bus', components: [messaging(), listener], logging: quiet }))
    const bus = t.get(MessageBus)
    expect(bus.backend).toBe('memory')
    await bus.publish(Reading, { value: 1 })
    await eventually(() => expect(received.map((m) => m.payload)).toEqual([{ value: 1 }]))
    const exposition = await t.get(Metrics).render()
    expect(exposition.body).toMatch(/messaging_published_total\{topic="component.reading"\} 1/)
    await eventually(async () => expect((await t.get(Metrics).render()).body).toMatch(/messaging_acked_total\{topic="component.reading",group="listener"\} 1/))
    expect(exposition.body).toMatch(/messaging_consumer_lag\{topic="component.reading",group="listener"\} 0/)
    // No server here starts the health registry; a test starts it as a probe endpoint would.
    const health = await t.resolve(Health)
    health.start()
    await health.checkNow()
    const report = health.report()
    health.stop()
    expect(JSON.stringify(report)).toContain('"component.reading/listener":0')
  })

  it('opens a "message" scope for each handler, so scoped providers work as in requests', async () => {
    const seen: number[] = []
    const scoped = provide(PerMessage, { lifetime: 'scoped', scope: 'message', create: () => ({ id: ++made }) })
    const user = component('scoped-user', {
      deps: { bus: MessageBus },
      create: ({ bus }) => bus,
      start: async (bus) => {
        await bus.subscribe(Reading, () => void seen.push(t.get(PerMessage).id), { group: 'scoped' })
      },
      eager: true,
    })
    // eslint-disable-next-line prefer-const -- assigned once the app has started, read by the handler later
    let t: Awaited<ReturnType<typeof startTestApp>>
    t = await startTestApp(createApp({ name: 'scoped-bus', components: [messaging(), scoped, user], logging: quiet }))
    try {
      await t.get(MessageBus).publish(Reading, { value: 1 })
      await t.get(MessageBus).publish(Reading, { value: 2 })
      await eventually(() => expect(seen).toHaveLength(2))
      expect(seen[0]).not.toBe(seen[1])
    } finally {
      await t.stop()
    }
  })

  it('aborts start-up when a required broker is unreachable, naming the masked URL and its source', async () => {
    const app = createApp({ name: 'required-bus', components: [messaging()], logging: quiet })
    const failure = await startTestApp(app, { env: { REDIS_URL: 'redis://:hunter2@127.0.0.1:1' } }).then(() => undefined, (error: unknown) => error as Error)
    const text = `${failure?.message} ${String((failure as { cause?: unknown })?.cause)}`
    expect(text).toContain('redis://:***@127.0.0.1:1 (from REDIS_URL)')
    expect(text).not.toContain('hunter2')
  })

  it('starts degraded when an optional broker is unreachable, and says so in readiness', async () => {
    await using t = await startTestApp(createApp({ name: 'optional-bus', components: [messaging({ optional: true })], logging: quiet }), {
      env: { MESSAGING_URL: 'redis://127.0.0.1:1' },
    })
    expect(t.get(MessageBus).state).toBe('degraded')
    const health = await t.resolve(Health)
    health.start()
    await health.checkNow()
    // Optional: readiness degraded, not down; the check itself is down with the reason.
    expect(health.readiness()).toMatchObject({ ok: true, status: 'degraded' })
    expect(JSON.stringify(health.report())).toMatch(/"down"/)
    health.stop()
  })
})

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
describe.skipIf(!redis.available)(redis.title('the messaging component on REDIS_URL'), () => {
  it('uses Redis Streams when REDIS_URL is set, with its prefix', async () => {
    received.length = 0
    const prefix = `plinth-test-${Math.random().toString(36).slice(2, 8)}`
    await using t = await startTestApp(createApp({ name: 'redis-bus', components: [messaging({ prefix }), listener], logging: quiet }), { env: { REDIS_URL: 'redis://127.0.0.1:6379' } })
    expect(t.get(MessageBus).backend).toBe('redis')
    await t.get(MessageBus).publish(Reading, { value: 2 })
    await eventually(() => expect(received.map((m) => m.payload)).toEqual([{ value: 2 }]))
  })
})
