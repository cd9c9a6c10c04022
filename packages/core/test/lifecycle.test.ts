import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { Container } from '../src/container/container.js'
import { EventSpy, EventStream, type LifecycleEvent } from '../src/lifecycle/events.js'
import { Lifecycle } from '../src/lifecycle/lifecycle.js'
import { component, provide, type AnyProvider, type Provider } from '../src/container/provider.js'
import { accessor, optional, token } from '../src/container/token.js'

const silent = pino({ level: 'silent' })
const delay = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason as Error)
    })
  })

function boot(providers: AnyProvider[]) {
  const container = new Container(providers)
  const events = new EventStream<LifecycleEvent>()
  const spy = new EventSpy()
  events.subscribe(spy.listener)
  const lifecycle = new Lifecycle(container, events, () => silent, { startTimeout: 1_000, stopTimeout: 1_000 })
  return { container, lifecycle, spy }
}

/** A component that records when it starts and stops. */
function part(name: string, log: string[], deps: Record<string, Provider<any, string, any>> = {}, extra: Record<string, unknown> = {}) {
  return component(name, {
    deps,
    create: () => ({ name }),
    start: async () => {
      log.push(`start ${name}`)
      await delay(20)
    },
    stop: async () => {
      log.push(`stop ${name}`)
      await delay(5)
    },
    ...extra,
  }) as Provider<any, string, any>
}

describe('start', () => {
  it('starts in dependency order and independent components concurrently', async () => {
    const log: string[] = []
    const db = part('db', log)
    const cache = part('cache', log)
    const repo = part('repo', log, { db, cache })
    const server = part('server', log, { repo }, { eager: true })
    const { lifecycle, spy } = boot([db, cache, repo, server])
    const result = await lifecycle.start()
    expect(log).toEqual(['start db', 'start cache', 'start repo', 'start server'])
    // db and cache are independent: both begin before either has finished.
    const sequence = spy.events.flatMap((e) => (e.type === 'component-starting' || e.type === 'component-started' ? [`${e.type} ${e.component}`] : []))
    expect(sequence.slice(0, 2).sort()).toEqual(['component-starting cache', 'component-starting db'])
    expect(result.criticalPath).toHaveLength(3)
    expect(result.criticalPath.at(-1)?.component).toBe('server')
  })

  it('starts only what an eager component needs', async () => {
    const log: string[] = []
    const used = part('used', log)
    const unused = part('unused', log)
    const server = part('server', log, { used }, { eager: true })
    await boot([used, unused, server]).lifecycle.start()
    expect(log).not.toContain('start unused')
  })

  it('times out a start, aborting its signal, and names the deadline', async () => {
    let aborted = false
    const hang = component('hang', {
      eager: true,
      startTimeout: 30,
      create: () => ({}),
      start: (_, { signal }) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true
            reject(signal.reason as Error)
          })
        }),
    })
    const { lifecycle } = boot([hang])
    await expect(lifecycle.start()).rejects.toThrow(/"hang" \(.*lifecycle\.test\.ts:\d+\) did not start within 30 ms/)
    expect(aborted).toBe(true)
  })

  it('retries a failing start with backoff and succeeds', async () => {
    let attempts = 0
    const flaky = component('flaky', {
      eager: true,
      retry: { attempts: 3, initialDelay: 5, jitter: false },
      create: () => ({}),
      start: () => {
        if (++attempts < 3) throw new Error(`refused ${attempts}`)
      },
    })
    const { lifecycle, spy } = boot([flaky])
    await lifecycle.start()
    expect(attempts).toBe(3)
    expect(spy.of('component-failed').map((e) => [e.attempt, e.retryIn])).toEqual([
      [1, 5],
      [2, 10],
    ])
    expect(spy.of('component-started')[0]?.attempts).toBe(3)
  })

  it('rolls back exactly what had started, in reverse, and names every failure in one error', async () => {
    const log: string[] = []
    const db = part('db', log)
    const queue = part('queue', log)
    const api = part('api', log, { db, queue })
    const mail = component('mail', { create: () => ({}), start: async () => { await delay(30); throw new Error('smtp refused') } })
    const search = component('search', { create: () => ({}), start: async () => { await delay(35); throw new Error('index missing') } })
    const server = part('server', log, { api, mail, search }, { eager: true })
    const { lifecycle, spy } = boot([db, queue, api, mail, search, server])
    const error = await lifecycle.start().then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error?.message).toContain('mail: PLINTH_ERR_START_FAILED')
    expect(error?.message).toContain('smtp refused')
    expect(error?.message).toContain('search: PLINTH_ERR_START_FAILED')
    expect(log).not.toContain('start server')
    // api depends on db and queue, so it stops before both of them.
    const stops = log.filter((l) => l.startsWith('stop'))
    expect(stops[0]).toBe('stop api')
    expect(stops.slice(1).sort()).toEqual(['stop db', 'stop queue'])
    expect(spy.types()).toContain('rolled-back')
  })

  it('degrades on an optional component failure; optional dependents get undefined', async () => {
    const cache = component('cache', { optional: true, create: () => ({}), start: () => { throw new Error('redis down') } })
    let seen: unknown = 'unset'
    const api = component('api', { eager: true, deps: { cache: optional(cache) }, create: ({ cache }) => (seen = cache) })
    const { lifecycle, spy } = boot([cache, api])
    const result = await lifecycle.start()
    expect(result.degraded).toEqual(['cache'])
    expect(seen).toBeUndefined()
    expect(spy.of('component-degraded')[0]?.reason).toContain('redis down')
  })

  it('fails a required dependent of a degraded optional component', async () => {
    const cache = component('cache', { optional: true, create: () => ({}), start: () => { throw new Error('redis down') } })
    const api = component('api', { eager: true, deps: { cache }, create: () => ({}) })
    await expect(boot([cache, api]).lifecycle.start()).rejects.toThrow(/api: PLINTH_ERR_DEPENDENCY_FAILED: "api" needs "cache", which failed/)
  })
})

describe('interrupted start', () => {
  it('stops what had started and rejects when aborted during boot', async () => {
    const log: string[] = []
    const db = part('db', log)
    const slow = component('slow', { deps: { db }, create: () => ({}), start: (_, { signal }) => delay(1_000, signal), stop: () => void log.push('stop slow') })
    const server = part('server', log, { slow }, { eager: true })
    const { lifecycle } = boot([db, slow, server])
    const starting = lifecycle.start()
    await new Promise((r) => setTimeout(r, 40))
    lifecycle.abort('SIGTERM during start-up')
    await expect(starting).rejects.toThrow(/start-up (interrupted|failed)/)
    expect(log).toContain('stop db')
    expect(log).not.toContain('start server')
  })
})

describe('stop', () => {
  it('stops in reverse dependency order, independent components concurrently', async () => {
    const log: string[] = []
    const db = part('db', log)
    const a = part('a', log, { db })
    const b = part('b', log, { db })
    const server = part('server', log, { a, b }, { eager: true })
    const { lifecycle } = boot([db, a, b, server])
    await lifecycle.start()
    log.length = 0
    const report = await lifecycle.stop(1_000)
    expect(report.unfinished).toEqual([])
    expect(log[0]).toBe('stop server')
    expect(log.slice(1, 3).sort()).toEqual(['stop a', 'stop b'])
    expect(log[3]).toBe('stop db')
  })

  it('stops a server before what its handlers reach lazily (an accessor to a scoped handler, through a contribution)', async () => {
    const log: string[] = []
    const db = part('db', log)
    const service = part('service', log, { db })
    const handler = component('handler', { lifetime: 'scoped', deps: { service }, create: ({ service }) => ({ service }) })
    const Handlers = token('handlers').many<{ handler: () => unknown }>()
    const registration = provide(Handlers, { deps: { handler: accessor(handler) }, create: ({ handler }) => ({ handler }) })
    // The server finishes its last call 50 ms into its stop; the database must still be there.
    const server = component('server', {
      eager: true,
      deps: { handlers: Handlers },
      create: () => ({}),
      start: () => void log.push('start server'),
      stop: async () => {
        await delay(50)
        log.push('stop server')
      },
    })
    // Something else uses the service directly, so that it and the database are started.
    const user = component('user', { eager: true, deps: { service }, create: () => ({}) })
    const { lifecycle } = boot([db, service, handler, registration, server, user])
    await lifecycle.start()
    log.length = 0
    const report = await lifecycle.stop(1_000)
    expect(report.failures).toEqual([])
    expect(log).toEqual(['stop server', 'stop service', 'stop db'])
  })

  it('keeps the construction order where a lazy edge would close a cycle', async () => {
    const log: string[] = []
    const Back = token('back').of<() => unknown>()
    const a = part('a', log, { back: accessor(Back) as never }, { eager: true })
    const b = provide(Back, { eager: true, deps: { a }, create: () => () => 'b', stop: () => void log.push('stop b') })
    const { lifecycle } = boot([a, b])
    await lifecycle.start()
    log.length = 0
    const report = await lifecycle.stop(1_000)
    expect(report.unfinished).toEqual([])
    expect(log).toEqual(['stop b', 'stop a'])
  })

  it('names what did not stop by the overall deadline', async () => {
    const stuck = component('stuck', { eager: true, create: () => ({}), stop: () => new Promise<void>(() => {}) })
    const { lifecycle } = boot([stuck])
    await lifecycle.start()
    const report = await lifecycle.stop(50)
    expect(report.unfinished).toEqual(['stuck'])
  })

  it('gives up on one component at its own stop deadline and stops the rest', async () => {
    const log: string[] = []
    const db = part('db', log)
    const stuck = component('stuck', { eager: true, stopTimeout: 20, deps: { db }, create: () => ({}), stop: () => new Promise<void>(() => {}) })
    const { lifecycle } = boot([db, stuck])
    await lifecycle.start()
    const report = await lifecycle.stop(1_000)
    expect(report.failures.map((f) => f.component)).toEqual(['stuck'])
    expect(String(report.failures[0]?.error)).toContain('did not stop within 20 ms')
    expect(log).toContain('stop db')
  })
})
