/**
 * The delivery contract, run against every backend (memory.test.ts, redis.test.ts,
 * nats.test.ts), as hono runs one router suite against every router. A "world" is one broker
 * namespace of its own (a key prefix, a stream prefix); each `instance()` in it is one more
 * instance of a service on that broker.
 */
import { Container, isPlinthError, provide, token } from '@plinth/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Bus, MemoryDedupe, topic, withCorrelation, type BusOptions, type Message } from '../src/index.js'

export interface World {
  /** A new bus instance on this world's broker, not started. */
  instance(options?: Partial<BusOptions>): Bus
  /** Removes what the world left on the broker. */
  cleanup(): Promise<void>
  /** Stops and starts the broker again (restart tests), when the backend can. */
  restart?: () => Promise<void>
}

export interface ConformanceTarget {
  name: string
  world(): Promise<World>
}

/** Waits until `check` passes (it is retried until then), or fails with its last error after `timeout`. */
export async function eventually<T>(check: () => T | Promise<T>, timeout = 10_000): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

/** A promise with its resolve function, for handlers a test holds open. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

const abortedSignal = () => AbortSignal.abort()
const unique = (base: string) => `${base}.${Math.random().toString(36).slice(2, 8)}`
const fastRetry = { initialDelay: 1, maxDelay: 5, jitter: false }

export function busConformance(target: ConformanceTarget): void {
  describe(`${target.name}: the delivery contract`, () => {
    let world: World
    const buses: Bus[] = []
    const start = async (options?: Partial<BusOptions>) => {
      const bus = world.instance(options)
      buses.push(bus)
      await bus.start()
      return bus
    }

    beforeEach(async () => {
      world = await target.world()
    })
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((bus) => bus.stop(abortedSignal())))
      await world.cleanup()
    })

    describe('publishing', () => {
      it('resolves with the id once persisted, and delivers payload, key, headers and envelope ids', async () => {
        const bus = await start()
        const Reading = topic(unique('reading')).of<{ value: number }>()
        const got: Message<{ value: number }>[] = []
        await bus.subscribe(Reading, (m) => void got.push(m), { group: 'g' })
        const published = await bus.publish(Reading, { value: 7 }, { key: 'device-1', headers: { source: 'test' } })
        expect(published.topic).toBe(Reading.name)
        const [message] = await eventually(() => (got.length === 1 ? got : Promise.reject(new Error('not delivered'))))
        expect(message).toMatchObject({ id: published.id, topic: Reading.name, payload: { value: 7 }, key: 'device-1', headers: { source: 'test' }, attempt: 1 })
        // A message caused by nothing starts its own correlation.
        expect(message!.correlationId).toBe(published.id)
        expect(message!.causationId).toBeUndefined()
        expect(typeof message!.timestamp).toBe('number')
      })

      it('gives a message published inside a handler the correlation id of its cause and the cause as causation', async () => {
        const bus = await start()
        const First = topic(unique('first')).of<string>()
        const Second = topic(unique('second')).of<string>()
        const seconds: Message<string>[] = []
        await bus.subscribe(First, async () => {
          await bus.publish(Second, 'at once')
          // The context survives the handler's awaits, as far as its promise goes.
          await new Promise((resolve) => setTimeout(resolve, 2))
          await bus.publish(Second, 'later')
        }, { group: 'g' })
        await bus.subscribe(Second, (m) => void seconds.push(m), { group: 'g' })
        const first = await withCorrelation('request-42', () => bus.publish(First, 'start'))
        await eventually(() => (seconds.length === 2 ? seconds : Promise.reject(new Error('not yet'))))
        for (const second of seconds) {
          expect(second.correlationId).toBe('request-42')
          expect(second.causationId).toBe(first.id)
        }
      })

      it('rejects a message that does not match the topic schema, naming the field path', async () => {
        const bus = await start()
        const Checked = topic(unique('checked')).of(z.object({ device: z.string(), value: z.number() }))
        const failure = await bus.publish(Checked, { device: 'd', value: 'high' as unknown as number }).catch((error: unknown) => error)
        expect(isPlinthError(failure) && failure.code).toBe('PLINTH_ERR_MESSAGING_INVALID_MESSAGE')
        expect((failure as Error).message).toMatch(/value: /)
        expect((failure as Error).message).toContain(Checked.name)
      })

      it('refuses to publish once stopped', async () => {
        const bus = await start()
        await bus.stop()
        const failure = await bus.publish(topic(unique('late')).of<number>(), 1).catch((error: unknown) => error)
        expect(isPlinthError(failure) && failure.code).toBe('PLINTH_ERR_MESSAGING_STOPPED')
      })
    })

    describe('consumer groups', () => {
      it('delivers each message to one instance of a group, and every message to each group', async () => {
        const a = await start()
        const b = await start()
        const Event = topic(unique('event')).of<number>()
        const held = gate()
        const byInstance = { a: [] as number[], b: [] as number[], audit: [] as number[] }
        // Each instance holds its first message, so the second must go to the other one.
        await a.subscribe(Event, async (m) => { byInstance.a.push(m.payload); await held.promise }, { group: 'workers' })
        await b.subscribe(Event, async (m) => { byInstance.b.push(m.payload); await held.promise }, { group: 'workers' })
        await a.subscribe(Event, (m) => void byInstance.audit.push(m.payload), { group: 'audit' })
        await a.publish(Event, 1)
        await a.publish(Event, 2)
        await eventually(() => expect(byInstance.a.length + byInstance.b.length).toBe(2))
        expect(byInstance.a).toHaveLength(1)
        expect(byInstance.b).toHaveLength(1)
        expect([...byInstance.a, ...byInstance.b].sort()).toEqual([1, 2])
        await eventually(() => expect(byInstance.audit.sort()).toEqual([1, 2]))
        held.open()
      })

      it('hands one consumer with concurrency 1 the messages in publish order', async () => {
        const bus = await start()
        const Ordered = topic(unique('ordered')).of<number>()
        const seen: number[] = []
        await bus.subscribe(Ordered, (m) => void seen.push(m.payload), { group: 'g', concurrency: 1 })
        for (let i = 0; i < 30; i++) await bus.publish(Ordered, i)
        await eventually(() => expect(seen).toHaveLength(30))
        expect(seen).toEqual([...Array(30).keys()])
      })

      it('handles messages of one key one at a time and in publish order under concurrency, while other keys run beside them', async () => {
        const bus = await start()
        const Keyed = topic(unique('keyed')).of<{ key: string; n: number }>()
        const keys = ['a', 'b', 'c', 'd']
        const seen = new Map<string, number[]>(keys.map((key) => [key, []]))
        const runningByKey = new Map<string, number>()
        let running = 0
        let most = 0
        let overlapWithinKey = false
        await bus.subscribe(Keyed, async (m) => {
          const { key, n } = m.payload
          const mine = (runningByKey.get(key) ?? 0) + 1
          runningByKey.set(key, mine)
          if (mine > 1) overlapWithinKey = true
          most = Math.max(most, ++running)
          // Later messages finish sooner: were a key's messages run side by side, they would overtake.
          await new Promise((resolve) => setTimeout(resolve, (40 - n) % 7))
          seen.get(key)!.push(n)
          running--
          runningByKey.set(key, runningByKey.get(key)! - 1)
        }, { group: 'g', concurrency: 8 })
        const count = 40
        await Promise.all(Array.from({ length: count }, (_, n) => bus.publish(Keyed, { key: keys[n % keys.length]!, n }, { key: keys[n % keys.length] })))
        await eventually(() => expect([...seen.values()].flat()).toHaveLength(count))
        for (const key of keys) expect(seen.get(key)).toEqual([...Array(count).keys()].filter((n) => keys[n % keys.length] === key))
        expect(overlapWithinKey).toBe(false)
        expect(most).toBeGreaterThan(1)
      })

      it('runs up to `concurrency` handlers at once', async () => {
        const bus = await start()
        const Work = topic(unique('work')).of<number>()
        const held = gate()
        let running = 0
        let most = 0
        await bus.subscribe(Work, async () => { running++; most = Math.max(most, running); await held.promise; running-- }, { group: 'g', concurrency: 3 })
        for (let i = 0; i < 5; i++) await bus.publish(Work, i)
        await eventually(() => expect(running).toBe(3))
        held.open()
        await eventually(() => expect(running).toBe(0))
        expect(most).toBe(3)
      })
    })

    describe('retries and the dead-letter queue', () => {
      it('retries a failing handler with the attempt count, then acknowledges', async () => {
        const bus = await start()
        const Flaky = topic(unique('flaky')).of<string>()
        const attempts: number[] = []
        await bus.subscribe(Flaky, (m) => { attempts.push(m.attempt); if (m.attempt < 3) throw new Error('not yet') }, { group: 'g', maxAttempts: 5, backoff: fastRetry })
        await bus.publish(Flaky, 'x')
        await eventually(() => expect(attempts).toEqual([1, 2, 3]))
        await eventually(async () => expect(await bus.lag()).toEqual({ [`${Flaky.name}/g`]: 0 }))
        expect(await bus.deadLetters.list(Flaky.name)).toEqual([])
      })

      it('dead-letters after maxAttempts with the error, attempts, group and original headers, and does not deliver it again', async () => {
        const bus = await start()
        const Poison = topic(unique('poison')).of<{ n: number }>()
        const attempts: number[] = []
        await bus.subscribe(Poison, (m) => { attempts.push(m.attempt); throw new Error(`cannot handle ${m.payload.n}`) }, { group: 'g', maxAttempts: 3, backoff: fastRetry, ackTimeout: 200 })
        const published = await bus.publish(Poison, { n: 13 }, { headers: { tenant: 't1' } })
        const [letter] = await eventually(async () => {
          const letters = await bus.deadLetters.list(Poison.name)
          return letters.length === 1 ? letters : Promise.reject(new Error(`${letters.length} dead letters`))
        })
        expect(letter).toMatchObject({ topic: Poison.name, group: 'g', attempts: 3, error: 'Error: cannot handle 13' })
        expect(letter!.message).toMatchObject({ id: published.id, payload: { n: 13 }, headers: { tenant: 't1' } })
        // Acknowledged in the same step: past ackTimeout nobody takes it over.
        await new Promise((resolve) => setTimeout(resolve, 600))
        expect(attempts).toEqual([1, 2, 3])
        expect(await bus.deadLetters.list(Poison.name)).toHaveLength(1)
      })

      it('dead-letters a received message that fails the topic schema, with the reason, without calling the handler', async () => {
        const bus = await start()
        const name = unique('validated')
        const Loose = topic(name).of<unknown>()
        const Strict = topic(name).of(z.object({ value: z.number() }))
        let calls = 0
        await bus.subscribe(Strict, () => void calls++, { group: 'g' })
        await bus.publish(Loose, { value: 'nope' })
        const [letter] = await eventually(async () => {
          const letters = await bus.deadLetters.list(name)
          return letters.length === 1 ? letters : Promise.reject(new Error('not dead-lettered yet'))
        })
        expect(letter!.error).toMatch(/^invalid message: value: /)
        expect(letter!.attempts).toBe(1)
        expect(calls).toBe(0)
      })

      it('lists, inspects, replays one or all, and purges dead letters', async () => {
        const bus = await start()
        const Jobs = topic(unique('jobs')).of<number>()
        let healthy = false
        const handled: Message<number>[] = []
        await bus.subscribe(Jobs, (m) => { if (!healthy) throw new Error('down'); handled.push(m) }, { group: 'g', maxAttempts: 1 })
        const ids = []
        for (const n of [1, 2, 3, 4]) ids.push((await bus.publish(Jobs, n)).id)
        const letters = await eventually(async () => {
          const list = await bus.deadLetters.list(Jobs.name)
          return list.length === 4 ? list : Promise.reject(new Error(`${list.length} of 4`))
        })
        expect(letters.map((l) => l.message.payload)).toEqual([1, 2, 3, 4])
        expect(await bus.deadLetters.topics()).toContainEqual({ topic: Jobs.name, count: 4 })
        expect(await bus.deadLetters.inspect(Jobs.name, letters[0]!.id)).toEqual(letters[0])
        expect(await bus.deadLetters.list(Jobs.name, { limit: 2 })).toHaveLength(2)

        healthy = true
        expect(await bus.deadLetters.replay(Jobs.name, letters[0]!.id)).toBe(1)
        await eventually(() => expect(handled.map((m) => m.payload)).toEqual([1]))
        // Replayed as the same message, marked as a replay.
        expect(handled[0]!.id).toBe(ids[0])
        expect(handled[0]!.headers['x-replayed-from']).toBe(letters[0]!.id)

        expect(await bus.deadLetters.purge(Jobs.name, letters[1]!.id)).toBe(1)
        expect(await bus.deadLetters.replay(Jobs.name)).toBe(2)
        await eventually(() => expect(handled.map((m) => m.payload).sort()).toEqual([1, 3, 4]))
        expect(await bus.deadLetters.list(Jobs.name)).toEqual([])
        expect(await bus.deadLetters.purge(Jobs.name)).toBe(0)

        const missing = await bus.deadLetters.inspect(Jobs.name, letters[1]!.id).catch((error: unknown) => error)
        expect(isPlinthError(missing) && missing.code).toBe('PLINTH_ERR_MESSAGING_DEAD_LETTER_NOT_FOUND')
      })

      it('skips a message its group has handled when a dedupe store is given', async () => {
        const bus = await start({ dedupe: new MemoryDedupe() })
        const Once = topic(unique('once')).of<string>()
        const handled: string[] = []
        let failOther = true
        await bus.subscribe(Once, (m) => void handled.push(m.payload), { group: 'g' })
        await bus.subscribe(Once, () => { if (failOther) throw new Error('later') }, { group: 'other', maxAttempts: 1 })
        await bus.publish(Once, 'a')
        const [letter] = await eventually(async () => {
          const list = await bus.deadLetters.list(Once.name)
          return list.length === 1 ? list : Promise.reject(new Error('not yet'))
        })
        await eventually(() => expect(handled).toEqual(['a']))
        failOther = false
        // The replay reaches both groups; the group that handled it already does not run it twice.
        await bus.deadLetters.replay(Once.name, letter!.id)
        await bus.publish(Once, 'b')
        await eventually(() => expect(handled).toEqual(['a', 'b']))
      })
    })

    describe('takeover and shutdown', () => {
      it('lets another instance take over a message its consumer never acknowledged, with the attempt count kept', async () => {
        const stuck = await start()
        const rescuer = await start()
        const Task = topic(unique('task')).of<string>()
        const seen: Array<{ by: string; attempt: number }> = []
        const never = gate()
        await stuck.subscribe(Task, async (m) => { seen.push({ by: 'stuck', attempt: m.attempt }); await never.promise }, { group: 'g', ackTimeout: 300 })
        await stuck.publish(Task, 'x')
        await eventually(() => expect(seen).toEqual([{ by: 'stuck', attempt: 1 }]))
        await rescuer.subscribe(Task, (m) => void seen.push({ by: 'rescuer', attempt: m.attempt }), { group: 'g', ackTimeout: 300 })
        await eventually(() => expect(seen).toContainEqual({ by: 'rescuer', attempt: 2 }))
        await stuck.stop(abortedSignal())
      })

      it('at stop, lets in-flight handlers finish and acknowledges them; takes nothing new', async () => {
        const bus = await start()
        const other = world.instance()
        const Slow = topic(unique('slow')).of<number>()
        const held = gate()
        const started: number[] = []
        const finished: number[] = []
        await bus.subscribe(Slow, async (m) => { started.push(m.payload); await held.promise; finished.push(m.payload) }, { group: 'g', ackTimeout: 300 })
        await bus.publish(Slow, 1)
        await eventually(() => expect(started).toEqual([1]))
        const stopping = bus.stop(AbortSignal.timeout(5_000))
        await bus.publish(Slow, 2).catch(() => undefined)
        held.open()
        await stopping
        expect(finished).toEqual([1])
        // Acknowledged: another instance of the group does not get it again past ackTimeout.
        buses.push(other)
        await other.start()
        const redelivered: number[] = []
        await other.subscribe(Slow, (m) => void redelivered.push(m.payload), { group: 'g', ackTimeout: 300 })
        await new Promise((resolve) => setTimeout(resolve, 800))
        expect(redelivered).toEqual([])
      })

      it('leaves a handler that misses the stop deadline unacknowledged, for another instance to take over', async () => {
        const bus = await start()
        const Long = topic(unique('long')).of<number>()
        const never = gate()
        const started: number[] = []
        await bus.subscribe(Long, async (m) => { started.push(m.payload); await never.promise }, { group: 'g', ackTimeout: 300 })
        await bus.publish(Long, 1)
        await eventually(() => expect(started).toEqual([1]))
        await bus.stop(AbortSignal.timeout(50))
        const other = await start()
        const taken: Message<number>[] = []
        await other.subscribe(Long, (m) => void taken.push(m), { group: 'g', ackTimeout: 300 })
        await eventually(() => expect(taken.map((m) => [m.payload, m.attempt])).toEqual([[1, 2]]))
      })
    })

    describe('scopes and bad input', () => {
      it('runs each handler in a "message" scope of its own, disposed after', async () => {
        const PerMessage = token('per-message').of<{ n: number; disposed: boolean }>()
        let made = 0
        const container = new Container(
          [provide(PerMessage, { lifetime: 'scoped', scope: 'message', create: () => ({ n: ++made, disposed: false }), dispose: (i) => void (i.disposed = true) })],
          { scopes: ['session', 'request', 'message'] },
        )
        const bus = await start({ container })
        const Scoped = topic(unique('scoped')).of<number>()
        const instances: Array<{ n: number; disposed: boolean }> = []
        await bus.subscribe(Scoped, (m) => { const a = container.get(PerMessage); expect(container.get(PerMessage)).toBe(a); expect(container.currentScope()?.name).toBe('message'); instances.push(a); void m }, { group: 'g' })
        await bus.publish(Scoped, 1)
        await bus.publish(Scoped, 2)
        await eventually(() => expect(instances.map((i) => i.n)).toEqual([1, 2]))
        await eventually(() => expect(instances.every((i) => i.disposed)).toBe(true))
      })

      it('refuses a topic name a broker would refuse, at declaration', () => {
        for (const name of ['', 'has space', 'wild.*', 'tail.', '.head', 'a..b', 'x'.repeat(201)]) {
          expect(() => topic(name), name).toThrowError(expect.objectContaining({ code: 'PLINTH_ERR_MESSAGING_INVALID_TOPIC' }) as Error)
        }
        const failure = (() => { try { topic('bad name') } catch (error) { return error as Error } })()
        expect(failure?.message).toContain('conformance.ts')
      })

      it('refuses subscription options that make no sense, saying which', async () => {
        const bus = await start()
        const T = topic(unique('opts')).of<number>()
        const cases: Array<[Record<string, unknown>, RegExp]> = [
          [{ group: '' }, /group/],
          [{ group: 'g', concurrency: 0 }, /concurrency/],
          [{ group: 'g', maxAttempts: 1.5 }, /maxAttempts/],
          [{ group: 'g', ackTimeout: -1 }, /ackTimeout/],
          [{ group: 'g', backoff: { initialDelay: Number.NaN } }, /backoff.initialDelay/],
        ]
        for (const [options, message] of cases) {
          const failure = await bus.subscribe(T, () => {}, options as never).catch((error: unknown) => error)
          expect(isPlinthError(failure) && failure.code).toBe('PLINTH_ERR_MESSAGING_INVALID_OPTIONS')
          expect((failure as Error).message).toMatch(message)
        }
      })
    })
  })
}

/**
 * Nothing acknowledged is lost across a broker restart: every publish that resolved is handled,
 * whether it was published before the restart or after. Needs a world whose broker the test owns.
 */
export function restartConformance(target: ConformanceTarget): void {
  describe(`${target.name}: a broker restart`, () => {
    it('keeps every acknowledged publish, before and after the restart', { timeout: 60_000 }, async () => {
      const world = await target.world()
      const bus = world.instance()
      await bus.start()
      try {
        const Durable = topic(unique('durable')).of<number>()
        const handled = new Set<number>()
        await bus.subscribe(Durable, (m) => void handled.add(m.payload), { group: 'g', ackTimeout: 1_000 })
        const acknowledged: number[] = []
        // A group that holds its first message in its handler: the rest wait, unread, in the broker when it goes down.
        const held = gate()
        const slowHandled = new Set<number>()
        const slow = await bus.subscribe(Durable, async (m) => { await held.promise; slowHandled.add(m.payload) }, { group: 'slow', ackTimeout: 1_000 })
        for (let i = 0; i < 50; i++) acknowledged.push((await bus.publish(Durable, i), i))
        await world.restart!()
        for (let i = 50; i < 100; i++) {
          // A publish may fail while the broker is away; only those that resolved were promised.
          const ok = await eventually(() => bus.publish(Durable, i), 15_000).then(() => true, () => false)
          if (ok) acknowledged.push(i)
        }
        expect(acknowledged.length).toBeGreaterThan(50)
        await eventually(() => expect(acknowledged.filter((i) => !handled.has(i))).toEqual([]), 30_000)
        expect(slowHandled.size).toBe(0)
        held.open()
        await eventually(() => expect(acknowledged.filter((i) => !slowHandled.has(i))).toEqual([]), 30_000)
        await slow.close(AbortSignal.timeout(1_000))
      } finally {
        await bus.stop(AbortSignal.timeout(1_000))
        await world.cleanup()
      }
    })
  })
}
