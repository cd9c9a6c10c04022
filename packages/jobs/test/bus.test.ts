/**
 * Job events on the event bus: a job's progress and completion on the instance that runs it reach
 * the listeners of every other instance, in order, marked as remote; each instance hears its own
 * events once, as local. In process on one memory broker, then as two apps on one Redis (the
 * queue on BullMQ, the bus on Redis Streams), one enqueuing and the other running the job.
 */
import { randomBytes } from 'node:crypto'
import { createApp } from '@plinth/core'
import { probeService, startTestApp, type TestApp } from '@plinth/core/testing'
import { Bus, MemoryBroker, messaging } from '@plinth/messaging'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BusJobEvents, busJobEvents } from '../src/bus.js'
import { BullmqQueue, Jobs, job, jobHandler, jobs, type JobEvent, type JobEventOrigin } from '../src/index.js'

async function eventually<T>(probe: () => T | undefined, timeout = 5_000): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const at = new Date().toISOString()

describe('job events on one memory broker', () => {
  let buses: [Bus, Bus]
  let sinks: [BusJobEvents, BusJobEvents]
  beforeAll(async () => {
    const broker = new MemoryBroker()
    buses = [new Bus({ broker, instanceId: 'a' }), new Bus({ broker, instanceId: 'b' })]
    sinks = [new BusJobEvents(buses[0]), new BusJobEvents(buses[1])]
    for (const bus of buses) await bus.start()
    for (const sink of sinks) await sink.start()
  })
  afterAll(async () => {
    for (const sink of sinks) await sink.close()
    for (const bus of buses) await bus.stop()
  })

  it('hands each event to the other instance in order, as remote, and to its own once, as local', async () => {
    const heard: Array<[string, JobEvent, JobEventOrigin]> = []
    const offs = sinks.map((sink, i) => sink.subscribe((event, origin) => void heard.push([i === 0 ? 'a' : 'b', event, origin])))
    const events: JobEvent[] = [
      { type: 'started', id: 'j-1', name: 'course.generate', attempt: 1, at },
      ...Array.from({ length: 30 }, (_, n): JobEvent => ({ type: 'progress', id: 'j-1', name: 'course.generate', progress: { percent: n + 1 }, at })),
      { type: 'completed', id: 'j-1', name: 'course.generate', result: { chapters: 3 }, at },
    ]
    // As the queue publishes: without waiting for one event to reach the broker before the next.
    await Promise.all(events.map((event) => sinks[0].publish(event)))
    await eventually(() => (heard.filter(([who]) => who === 'b').length === events.length ? true : undefined))
    for (const off of offs) off()
    expect(heard.filter(([who]) => who === 'a').map(([, event, origin]) => [event, origin])).toEqual(events.map((event) => [event, { local: true }]))
    expect(heard.filter(([who]) => who === 'b').map(([, event, origin]) => [event, origin])).toEqual(events.map((event) => [event, { local: false, instance: 'a' }]))
  })
})

const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) })

describe.skipIf(!redis.available)(redis.title('two app instances on one Redis'), () => {
  const prefix = `plinth-test-job-events-${process.pid}-${randomBytes(4).toString('hex')}`
  const outline = job('course.generate').of<{ chapters: number }, { chapters: number }>()
  const handler = jobHandler(outline, {
    run: async ({ chapters }, ctx) => {
      for (let n = 1; n <= chapters; n++) await ctx.progress((n / chapters) * 100, `chapter ${n}`)
      return { chapters }
    },
  })
  const instance = (name: string) => createApp({ name, components: [messaging(), busJobEvents(), jobs({ prefix }), handler], logging: { level: 'silent' } })
  let worker: TestApp
  let api: TestApp
  beforeAll(async () => {
    const env = { REDIS_URL, MESSAGING_PREFIX: prefix }
    worker = await startTestApp(instance('worker'), { env })
    api = await startTestApp(instance('api'), { env: { ...env, JOBS_WORKERS: 'false' } })
  }, 30_000)
  afterAll(async () => {
    await api?.stop()
    await worker?.stop()
    const queue = new BullmqQueue({ url: REDIS_URL, prefix })
    await queue.obliterate()
    await queue.close()
    const client = new Redis(REDIS_URL)
    const keys = await client.keys(`${prefix}:*`)
    if (keys.length > 0) await client.del(...keys)
    await client.quit()
  })

  it('brings the progress and completion of a job run on one instance to the listeners of the instance that enqueued it', async () => {
    const [apiJobs, workerJobs] = [await api.resolve(Jobs), await worker.resolve(Jobs)]
    const onApi: Array<[JobEvent, JobEventOrigin]> = []
    const onWorker: Array<[JobEvent, JobEventOrigin]> = []
    const offs = [apiJobs.subscribe((event, origin) => void onApi.push([event, origin])), workerJobs.subscribe((event, origin) => void onWorker.push([event, origin]))]
    const { id } = await apiJobs.enqueue(outline, { chapters: 3 })
    await eventually(() => (onApi.some(([event]) => event.id === id && event.type === 'completed') ? true : undefined), 15_000)
    for (const off of offs) off()
    const mine = (list: Array<[JobEvent, JobEventOrigin]>) => list.filter(([event]) => event.id === id).map(([event, origin]) => [event.type, event.type === 'progress' ? event.progress.percent : undefined, origin.local])
    // The api instance enqueued (local) and heard the worker's run (remote); the worker heard the enqueue (remote) and its own run (local).
    expect(mine(onApi)).toEqual([
      ['enqueued', undefined, true],
      ['started', undefined, false],
      ['progress', (1 / 3) * 100, false],
      ['progress', (2 / 3) * 100, false],
      ['progress', 100, false],
      ['completed', undefined, false],
    ])
    // The enqueue's announcement and the worker's own start race; each is heard once, with its origin.
    const workerHeard = mine(onWorker).map(([type, , local]) => [type, local])
    expect(workerHeard.filter(([, local]) => local)).toEqual([['started', true], ['progress', true], ['progress', true], ['progress', true], ['completed', true]])
    expect(workerHeard.filter(([, local]) => !local)).toEqual([['enqueued', false]])
    const remote = onApi.find(([event]) => event.id === id && event.type === 'completed')!
    expect(remote[1].instance).toEqual(expect.any(String))
  }, 30_000)
})
