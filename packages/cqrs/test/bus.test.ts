/**
 * Appends announced on the event bus: what one instance appends, the others hear (stream,
 * versions, positions, types), their subscriptions wake at once instead of at their next poll,
 * and a consumer group on the announcements reacts once across the instances. In process on one
 * memory broker, then as two apps sharing one database and one Redis.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { component, createApp } from '@plinth/core'
import { probeService, startTestApp, type TestApp } from '@plinth/core/testing'
import { database } from '@plinth/db'
import { Bus, MemoryBroker, MessageBus, messaging } from '@plinth/messaging'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AppendAnnouncer, EventsAppended, announceAppends } from '../src/bus.js'
import { EventStore, eventStore, subscribe, type Appended, type AppendOrigin, type RecordedEvent, type SqlEventStore } from '../src/index.js'
import { sqliteHarness, type SqlHarness } from './harness.js'

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeout = 5_000): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('appends announced on one memory broker', () => {
  let harness: SqlHarness
  let stores: [SqlEventStore, SqlEventStore]
  let buses: [Bus, Bus]
  let announcers: AppendAnnouncer[]
  beforeAll(async () => {
    harness = sqliteHarness()
    stores = [await harness.open(), await harness.open()]
    const broker = new MemoryBroker()
    buses = [new Bus({ broker, instanceId: 'instance-a' }), new Bus({ broker, instanceId: 'instance-b' })]
    for (const bus of buses) await bus.start()
    announcers = [new AppendAnnouncer(stores[0], buses[0]), new AppendAnnouncer(stores[1], buses[1])]
    for (const announcer of announcers) await announcer.start()
  })
  afterAll(async () => {
    for (const announcer of announcers) await announcer.stop()
    for (const bus of buses) await bus.stop()
    await harness.dispose()
  })

  it('tells the other instance the stream, versions, positions and types, once, as a remote append', async () => {
    const heardByB: Array<[Appended, AppendOrigin]> = []
    const heardByA: Array<[Appended, AppendOrigin]> = []
    const offB = stores[1].onAppended((appended, origin) => heardByB.push([appended, origin]))
    const offA = stores[0].onAppended((appended, origin) => heardByA.push([appended, origin]))
    const written = await stores[0].append('device-1', [{ type: 'device.registered', data: {} }, { type: 'device.named', data: { name: 'pump' } }])
    await eventually(() => (heardByB.length > 0 ? true : undefined))
    offA()
    offB()
    const [appended, origin] = heardByB[0]!
    expect(origin).toEqual({ local: false, instance: 'instance-a' })
    expect(appended).toEqual({
      stream: 'device-1',
      version: 2,
      position: written.position,
      events: [
        { id: expect.any(String), type: 'device.registered', version: 1, position: written.position - 1 },
        { id: expect.any(String), type: 'device.named', version: 2, position: written.position },
      ],
    })
    // The writer heard its own append in process, and not a second time from the bus.
    expect(heardByA.map(([a, o]) => [a.stream, o.local])).toEqual([['device-1', true]])
    expect(heardByB).toHaveLength(1)
  })

  it('wakes a subscription on the other instance at once, not at its next poll', async () => {
    const handled: RecordedEvent[] = []
    const follower = subscribe(stores[1], { name: 'wake-test', from: 'end', pollInterval: 60_000, handle: (event) => void handled.push(event) })
    follower.start()
    try {
      // Let it read the head and go to sleep for its (long) poll interval.
      await new Promise((resolve) => setTimeout(resolve, 200))
      const written = await stores[0].append('device-2', [{ type: 'device.named', data: { name: 'valve' } }])
      await follower.caughtUp(written.position, 3_000)
      expect(handled.map((event) => event.stream)).toEqual(['device-2'])
    } finally {
      await follower.stop()
    }
  })
})

const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) })

describe.skipIf(!redis.available)(redis.title('two app instances on one database and one Redis bus'), () => {
  const prefix = `plinth-test-cqrs-bus-${process.pid}-${Date.now().toString(36)}`
  let dir: string
  const instances: TestApp[] = []
  /** What each instance's reactor (one consumer group across both) and follower handled. */
  const reacted: Array<{ instance: string; stream: string }> = []
  const followed: Record<string, string[]> = {}

  function instance(name: string) {
    const reactor = component('reactor', {
      eager: true,
      deps: { bus: MessageBus },
      create: ({ bus }) => ({ bus }),
      start: async ({ bus }) => {
        await bus.subscribe(EventsAppended, ({ payload }) => void reacted.push({ instance: name, stream: payload.stream }), { group: 'reactor' })
      },
    })
    const follower = component('follower', {
      eager: true,
      deps: { store: EventStore },
      // A poll so slow that only the announcement can bring an append to it within the test.
      create: ({ store }) => subscribe(store, { name: `follower-${name}`, from: 'end', pollInterval: 60_000, handle: (event) => void (followed[name] ??= []).push(event.stream) }),
      start: (subscription) => subscription.start(),
      stop: (subscription) => subscription.stop(),
    })
    return createApp({ name: `devices-${name}`, components: [database(), messaging(), ...eventStore(), announceAppends(), reactor, follower], logging: { level: 'silent' } })
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-cqrs-bus-'))
    const env = { DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, REDIS_URL, MESSAGING_PREFIX: prefix }
    for (const name of ['a', 'b']) instances.push(await startTestApp(instance(name), { cwd: dir, env }))
  }, 30_000)
  afterAll(async () => {
    for (const app of instances) await app.stop()
    await rm(dir, { recursive: true, force: true })
    const client = new Redis(REDIS_URL)
    const keys = await client.keys(`${prefix}:*`)
    if (keys.length > 0) await client.del(...keys)
    await client.quit()
  })
  afterEach(() => {
    reacted.length = 0
  })

  it('brings an append on instance A to the subscriptions of instance B at once', async () => {
    const storeA = await instances[0]!.resolve(EventStore)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await storeA.append('pump-7', [{ type: 'device.registered', data: {} }])
    await eventually(() => (followed.b?.includes('pump-7') ? true : undefined), 5_000)
    expect(followed.a).toEqual(['pump-7'])
  })

  it('lets one consumer group react to each append once across the instances', async () => {
    const storeA = await instances[0]!.resolve(EventStore)
    const streams = Array.from({ length: 20 }, (_, i) => `meter-${i}`)
    for (const stream of streams) await storeA.append(stream, [{ type: 'device.registered', data: {} }])
    await eventually(() => (reacted.length >= streams.length ? true : undefined), 10_000)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(reacted.map((r) => r.stream).sort()).toEqual([...streams].sort())
  })
})
