import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Application, Logger, component, createApp, defineConfig, optional, provide, token } from '../src/index.js'
import { startTestApp } from '../src/testing.js'

const silent = { level: 'silent' } as const

describe('an app', () => {
  it('has no side effects until started, then moves through its states', async () => {
    let built = 0
    const worker = component('worker', { eager: true, create: () => ++built })
    const app = createApp({ name: 'states', components: [worker], logging: silent })
    expect(app.state).toBe('created')
    expect(built).toBe(0)
    await using t = await startTestApp(app)
    expect(app.state).toBe('ready')
    expect(app.ready).toBe(true)
    expect(t.get(worker)).toBe(1)
    const stopping = t.stop()
    expect(app.ready).toBe(false)
    await stopping
    expect(app.state).toBe('stopped')
  })

  it('provides its configuration, itself and a named logger per component', async () => {
    const Config = defineConfig({ schema: z.object({ greeting: z.string().default('hi') }) })
    const seen = component('seen', {
      eager: true,
      deps: { config: Config, app: Application, log: Logger },
      create: ({ config, app, log }) => ({ greeting: config.greeting, app: app.name, bindings: log.bindings() }),
    })
    await using t = await startTestApp(createApp({ name: 'kernel', config: Config, components: [seen], logging: silent }), { argv: ['--greeting=hello'] })
    expect(t.get(seen)).toEqual({ greeting: 'hello', app: 'kernel', bindings: expect.objectContaining({ component: 'seen' }) as unknown })
  })

  it('starts degraded when an optional component fails, and says which and why', async () => {
    const cache = component('cache', { optional: true, create: () => ({}), start: () => { throw new Error('connection refused') } })
    const api = component('api', { eager: true, deps: { cache: optional(cache) }, create: ({ cache }) => ({ cached: cache !== undefined }) })
    await using t = await startTestApp(createApp({ name: 'degraded', components: [cache, api], logging: silent }))
    expect(t.app.state).toBe('degraded')
    expect(t.started.degraded).toEqual(['cache'])
    expect(t.get(api).cached).toBe(false)
    const status = t.app.components().find((c) => c.name === 'cache')
    expect(status?.state).toBe('degraded')
    expect(String(status?.error)).toContain('connection refused')
  })

  it('fails start-up with one error when a required component fails, having stopped the rest', async () => {
    const stopped: string[] = []
    const db = component('db', { create: () => ({}), stop: () => void stopped.push('db') })
    const settings = component('settings', { create: () => ({}) }) // built, but with no hook there is nothing to roll back
    const api = component('api', { eager: true, deps: { db, settings }, create: () => ({}), start: () => { throw new Error('port in use') } })
    const app = createApp({ name: 'failing', components: [db, settings, api], logging: silent })
    await expect(startTestApp(app)).rejects.toThrow(/start-up failed \(1 component\)[\s\S]*api: PLINTH_ERR_START_FAILED[\s\S]*port in use[\s\S]*rolled back \(started, then stopped again\): db$/)
    expect(stopped).toEqual(['db'])
    expect(app.state).toBe('failed')
  })

  it('a start past the app\'s lifecycle.startTimeout names that option and the createApp line that set it', async () => {
    const hang = component('hang', { eager: true, create: () => ({}), start: (_, { signal }) => new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))) })
    const line = Number(new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]) + 1
    const app = createApp({ name: 'slow', components: [hang], lifecycle: { startTimeout: 30 }, logging: silent })
    await expect(startTestApp(app)).rejects.toThrow(`"hang" (packages/core/test/app.test.ts:${line - 2}) did not start within 30 ms (the app's lifecycle.startTimeout, set at packages/core/test/app.test.ts:${line})`)
  })

  it('lets a test replace a provider with an override', async () => {
    const Clock = token('clock').of<() => number>()
    const stamp = component('stamp', { eager: true, deps: { now: Clock }, create: ({ now }) => now() })
    const app = createApp({ name: 'overrides', components: [provide(Clock, { value: () => Date.now() }), stamp], logging: silent })
    await using t = await startTestApp(app, { overrides: [provide(Clock, { value: () => 42 })] })
    expect(t.get(stamp)).toBe(42)
  })

  it('records the boot timeline as typed events', async () => {
    const a = component('a', { eager: true, create: () => 1 })
    await using t = await startTestApp(createApp({ name: 'timeline', components: [a], logging: silent }))
    // Phases: modules, validate, bootstrap, start (the graph is valid before the bootstrap writes anything). The bootstrap's own events are pinned in bootstrap.test.ts.
    expect(t.spy.types().filter((type) => !type.startsWith('bootstrap-'))).toEqual([
      'phase-started',
      'phase-completed',
      'phase-started',
      'phase-completed',
      'phase-started',
      'phase-completed',
      'phase-started',
      'component-starting',
      'component-started',
      'phase-completed',
      'ready',
    ])
    expect(t.app.timeline().at(-1)?.type).toBe('ready')
    const phases = t.app.timeline().flatMap((e) => (e.type === 'phase-started' ? [e.phase] : []))
    expect(phases).toEqual(['modules', 'validate', 'bootstrap', 'start'])
  })

  it('refuses to start twice', async () => {
    await using t = await startTestApp(createApp({ name: 'twice', logging: silent }))
    await expect(t.app.start()).rejects.toThrow(/is ready; start\(\) needs it created or stopped/)
  })
})

describe('what is still running at a second signal', () => {
  it('names the components not yet stopped, those stopping first, once each, without the kernel or contributions', async () => {
    const Parts = token('parts').many<string>()
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const db = component('db', { create: () => ({}), stop: () => held })
    const server = component('server', { eager: true, deps: { db, parts: Parts }, create: () => ({}), stop: () => held })
    const parts = [provide(Parts, { value: 'a' }), provide(Parts, { value: 'b' })]
    const app = createApp({ name: 'second-signal', components: [db, server, ...parts], logging: silent, shutdown: { drainDelay: 0 } })
    await app.start()
    const stopping = app.stop('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(app.stillRunning()).toEqual(['server', 'db'])
    release()
    await stopping
    expect(app.stillRunning()).toEqual([])
  })
})

describe('a shutdown during start-up', () => {
  it('interrupts the boot, stops what had started, and leaves the app stopped', async () => {
    const log: string[] = []
    const db = component('db', { create: () => ({}), start: () => void log.push('start db'), stop: () => void log.push('stop db') })
    const slow = component('slow', {
      deps: { db },
      create: () => ({}),
      start: (_, { signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
      stop: () => void log.push('stop slow'),
    })
    const server = component('server', { eager: true, deps: { slow }, create: () => ({}), start: () => void log.push('start server') })
    const app = createApp({ name: 'interrupted', components: [db, slow, server], logging: silent })
    const starting = app.start({ env: {} })
    while (!log.includes('start db')) await new Promise((r) => setTimeout(r, 5))
    const report = await app.stop('SIGTERM')
    await expect(starting).rejects.toThrow(/interrupted/)
    expect(report.unfinished).toEqual([])
    expect(log).toEqual(['start db', 'stop slow', 'stop db'])
    expect(app.state).toBe('stopped')
  })

  it('does not log every line twice after a restart', async () => {
    const lines: string[] = []
    const destination = { write: (line: string) => void lines.push(line) }
    const app = createApp({ name: 'restart', logging: { level: 'info', destination } })
    await app.start({ env: {} })
    await app.stop()
    lines.length = 0
    await app.start({ env: {} })
    expect(lines.filter((l) => l.includes('ready in'))).toHaveLength(1)
    await app.stop()
  })
})
