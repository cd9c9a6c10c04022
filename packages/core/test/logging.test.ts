import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../src/app/create-app.js'
import { component } from '../src/container/provider.js'
import { PlinthError } from '../src/errors.js'
import { startTestApp } from '../src/testing.js'
import { componentLogger, createLogger } from '../src/logging/logging.js'
import { captureLog } from './log-capture.js'

const pinoRollInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('pino-roll')
    return true
  } catch {
    return false
  }
})()

afterEach(() => {
  vi.doUnmock('pino-roll')
  vi.restoreAllMocks()
})

describe('createLogger', () => {
  it('writes JSON lines with the level, name and message', () => {
    const out = captureLog()
    const log = createLogger({ name: 'orders', level: 'debug', destination: out.stream })
    log.debug({ orderId: 7 }, 'order placed')
    log.trace('below the level')
    expect(out.records()).toMatchObject([{ level: 20, name: 'orders', orderId: 7, msg: 'order placed' }])
  })

  it('redacts the common secret keys without being told', () => {
    const out = captureLog()
    const log = createLogger({ destination: out.stream })
    log.info({
      password: 'pw-top',
      user: { name: 'ada', password: 'pw-nested', token: 'tok-1', apiKey: 'key-1', secret: 'sec-1' },
      req: { headers: { authorization: 'Bearer abc', cookie: 'sid=xyz', accept: 'json' } },
    })
    const [record] = out.records()
    expect(record).toMatchObject({
      password: '[redacted]',
      user: { name: 'ada', password: '[redacted]', token: '[redacted]', apiKey: '[redacted]', secret: '[redacted]' },
      req: { headers: { authorization: '[redacted]', cookie: '[redacted]', accept: 'json' } },
    })
    for (const secret of ['pw-top', 'pw-nested', 'tok-1', 'key-1', 'sec-1', 'Bearer abc', 'sid=xyz']) expect(out.lines[0]).not.toContain(secret)
  })

  it('redacts the paths it is given as well as the defaults', () => {
    const out = captureLog()
    const log = createLogger({ destination: out.stream, redact: ['config.database.url', '*.database.url'] })
    log.info({ config: { database: { url: 'postgres://u:p@db/x', pool: 5 }, password: 'pw' } })
    expect(out.records()[0]).toMatchObject({ config: { database: { url: '[redacted]', pool: 5 }, password: '[redacted]' } })
  })

  it('rejects an unknown level with a configuration error naming it', () => {
    expect(() => createLogger({ level: 'verbose' })).toThrow(PlinthError)
    expect(() => createLogger({ level: 'verbose' })).toThrow(/"verbose" is not one of trace, debug, info, warn, error, fatal, silent/)
  })

  it('formats lines with pino-pretty in the same thread when pretty is set', () => {
    const pretty = createLogger({ pretty: true, level: 'silent' })
    const json = createLogger({ level: 'silent' })
    const streamOf = (log: object) => (log as Record<symbol, any>)[pino.symbols.streamSym]
    // pino-pretty's stream is a Transform that formats; the default is SonicBoom writing JSON as is.
    expect(streamOf(pretty).constructor.name).not.toBe('SonicBoom')
    expect(typeof streamOf(pretty).pipe).toBe('function')
    expect(streamOf(json).constructor.name).toBe('SonicBoom')
  })
})

describe('componentLogger', () => {
  it('tags every line with the component and its module', () => {
    const out = captureLog()
    const root = createLogger({ destination: out.stream })
    componentLogger(root, 'mailer', 'notifications').info('sent')
    componentLogger(root, 'clock').info('tick')
    const [mailer, clock] = out.records()
    expect(mailer).toMatchObject({ component: 'mailer', module: 'notifications', msg: 'sent' })
    expect(clock).toMatchObject({ component: 'clock', msg: 'tick' })
    expect(clock).not.toHaveProperty('module')
  })

  it("gives start and stop hooks their component's logger, made when a hook first reads it", async () => {
    const out = captureLog()
    const quiet = component('quiet', { create: () => ({}), start: () => {}, stop: () => {} })
    const mailer = component('mailer', {
      eager: true,
      deps: { quiet },
      create: () => ({}),
      start: (_mailer, { log }) => log.info('connected'),
      stop: (_mailer, context) => context.log.info('disconnected'),
    })
    const root = createLogger({ level: 'info', destination: out.stream })
    const child = vi.spyOn(root, 'child')
    const t = await startTestApp(createApp({ name: 'hooks', components: [quiet, mailer], logging: root }))
    await t[Symbol.asyncDispose]()
    const lines = out.records().filter((r) => r.component !== undefined)
    expect(lines.map((r) => [r.component, r.msg])).toEqual([
      ['mailer', 'connected'],
      ['mailer', 'disconnected'],
    ])
    // One logger for each hook that read it; none for the hooks that did not.
    const madeFor = child.mock.calls.map(([bindings]) => (bindings as { component?: string }).component)
    expect(madeFor.filter((name) => name === 'mailer')).toHaveLength(2)
    expect(madeFor).not.toContain('quiet')
  })
})

describe('rotating log file', () => {
  it('opens the file through pino-roll with the rotation options, holding early lines until it is open', async () => {
    const file = captureLog()
    const build = vi.fn((_options: Record<string, unknown>) => new Promise<Writable>((resolve) => setTimeout(() => resolve(file.stream), 20)))
    vi.doMock('pino-roll', () => ({ default: build }))
    const log = createLogger({ file: { path: '/var/log/app/app.log', maxSize: '10m', frequency: 'daily', keep: 3 } })
    log.info('first')
    log.info('second')
    expect(file.lines).toEqual([])
    await new Promise<void>((resolve) => log.flush(() => resolve()))
    log.info('third')
    expect(build).toHaveBeenCalledWith({ file: '/var/log/app/app.log', mkdir: true, size: '10m', frequency: 'daily', dateFormat: 'yyyy-MM-dd', limit: { count: 3 } })
    expect(file.records().map((r) => r.msg)).toEqual(['first', 'second', 'third'])
  })

  it('falls back to standard output with PLINTH_ERR_LOG_FILE when the file cannot be opened', async () => {
    vi.doMock('pino-roll', () => ({ default: () => Promise.reject(Object.assign(new Error("EACCES: permission denied, open '/root/app.log'"), { code: 'EACCES' })) }))
    const written: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    const log = createLogger({ file: { path: '/root/app.log' } })
    log.info('kept anyway')
    await new Promise<void>((resolve) => log.flush(() => resolve()))
    const records = written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>)
    expect(records[0]).toMatchObject({ msg: 'kept anyway' })
    expect(records[1]).toMatchObject({ level: 50, err: { code: 'PLINTH_ERR_LOG_FILE' } })
    expect(records[1]?.msg).toContain('cannot open the log file /root/app.log')
  })

  it.skipIf(pinoRollInstalled)('says pino-roll must be installed when it is not', async () => {
    const written: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    const log = createLogger({ file: { path: join(tmpdir(), 'plinth-never-written.log') } })
    log.info('kept anyway')
    await new Promise<void>((resolve) => log.flush(() => resolve()))
    const records = written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>)
    expect(records[0]).toMatchObject({ msg: 'kept anyway' })
    expect(records[1]).toMatchObject({ err: { code: 'PLINTH_ERR_LOG_FILE', details: { missingDependency: 'pino-roll' } } })
  })

  describe.skipIf(!pinoRollInstalled)('with pino-roll installed', () => {
    let dir = ''
    afterEach(async () => {
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    it('rolls to a new numbered file once the size limit is reached', async () => {
      dir = await mkdtemp(join(tmpdir(), 'plinth-log-'))
      const log = createLogger({ file: { path: join(dir, 'app.log'), maxSize: '1k' } })
      for (let i = 0; i < 200; i++) log.info({ i, padding: 'x'.repeat(40) }, 'line')
      await new Promise<void>((resolve) => log.flush(() => resolve()))
      let files: string[] = []
      for (let attempt = 0; attempt < 50 && files.length < 2; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        files = (await readdir(dir)).filter((name) => name.startsWith('app.'))
      }
      expect(files.length).toBeGreaterThan(1)
      const first = await readFile(join(dir, files.sort()[0] ?? ''), 'utf8')
      expect(JSON.parse(first.split('\n')[0] ?? '')).toMatchObject({ i: 0, msg: 'line' })
    })
  })
})

describe('the ready line', () => {
  const records = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, any>)

  it('is written at LOG_LEVEL=warn, read from .env, where info lines are not', async () => {
    const { createApp, defineConfig, component } = await import('../src/index.js')
    const { z } = await import('zod')
    const cwd = await mkdtemp(join(tmpdir(), 'plinth-ready-'))
    try {
      const { writeFile } = await import('node:fs/promises')
      await writeFile(join(cwd, '.env'), 'LOG_LEVEL=warn\n')
      const lines: string[] = []
      const config = defineConfig({ schema: z.object({ name: z.string().default('x') }) })
      const noisy = component('noisy', { deps: { config }, create: ({ config }) => config, start: () => undefined })
      const app = createApp({ name: 'quiet', config, components: [noisy], logging: (settings: { name: string }) => ({ destination: { write: (line: string) => void lines.push(line) }, name: settings.name }) })
      await app.start({ cwd, env: {} })
      await app.stop()
      const written = records(lines)
      // The ready line alone, and as what it is (info), not as a warning.
      expect(written.filter((r) => r.level < 40).map((r) => String(r.msg).slice(0, 8))).toEqual(['ready in'])
      expect(written.find((r) => String(r.msg).startsWith('ready in'))).toMatchObject({ level: 30, name: 'x' })
    } finally {
      await rm(cwd, { recursive: true, force: true })
    }
  })

  it('is a banner at a terminal: an address a line, the critical path, what is degraded and why', async () => {
    const { EventStream } = await import('../src/lifecycle/events.js')
    const { logEvents } = await import('../src/logging/log-events.js')
    const { stream, records: parsed } = captureLog()
    const events = new EventStream<import('../src/lifecycle/events.js').LifecycleEvent>()
    logEvents(events, pino({ level: 'info' }, stream), { banner: true })
    events.emit({ type: 'component-degraded', component: 'cache', reason: 'connect ECONNREFUSED 127.0.0.1:6379', error: new Error('x'), at: 0 })
    const endpoints = [{ name: 'http', url: 'http://127.0.0.1:8000' }, { name: 'websocket', url: 'ws://127.0.0.1:8765' }]
    events.emit({ type: 'ready', duration: 412.34, criticalPath: [{ component: 'db', duration: 12 }, { component: 'http', duration: 30 }], degraded: ['cache'], endpoints, excludedModules: [], at: 1 })
    const ready = parsed().find((r) => String(r.msg).startsWith('ready in'))!
    expect(ready.msg).toBe(
      [
        'ready in 412.3 ms, degraded',
        '  http       http://127.0.0.1:8000',
        '  websocket  ws://127.0.0.1:8765',
        '  critical path: db (12.0 ms) -> http (30.0 ms)',
        '  degraded: cache (connect ECONNREFUSED 127.0.0.1:6379)',
      ].join('\n'),
    )
    expect(ready.endpoints).toBeUndefined()
  })
})

describe('the bootstrap line', () => {
  /** Lifecycle events logged at info into a capture, as an app logs them. */
  const logged = async () => {
    const { EventStream } = await import('../src/lifecycle/events.js')
    const { logEvents } = await import('../src/logging/log-events.js')
    const { stream, records: parsed } = captureLog()
    const events = new EventStream<import('../src/lifecycle/events.js').LifecycleEvent>()
    logEvents(events, pino({ level: 'info' }, stream))
    return { events, parsed }
  }

  it('sums up what a boot created in one line, each action at debug', async () => {
    const { events, parsed } = await logged()
    const action = (action: 'create' | 'copy' | 'skip', subject: string, target: string) => events.emit({ type: 'bootstrap-action', dryRun: false, handler: 'h', action, subject, target, at: 0 })
    for (const dir of ['data', 'data/logs', 'data/tmp']) action('create', 'directory', dir)
    action('create', 'database', 'app')
    action('copy', 'artifact', 'data/schemas/a.proto')
    action('skip', 'file', 'data/seed.json')
    events.emit({ type: 'bootstrap-finished', dryRun: false, performed: 5, skipped: 1, failed: [], duration: 12.34, at: 1 })
    const lines = parsed()
    expect(lines.map((r) => r.msg)).toEqual(['bootstrap done in 12.3 ms: created 3 directories and database app; copied 1 artifact; 1 already in place'])
    expect(lines[0]).toMatchObject({ performed: 5, skipped: 1 })
  })

  it('lists each action of a dry run, which is what the user asked to see', async () => {
    const { events, parsed } = await logged()
    events.emit({ type: 'bootstrap-action', dryRun: true, handler: 'h', action: 'create', subject: 'database', target: 'app', at: 0 })
    events.emit({ type: 'bootstrap-finished', dryRun: true, performed: 1, skipped: 0, failed: [], duration: 1, at: 1 })
    expect(parsed().map((r) => r.msg)).toEqual(['bootstrap (dry run): would create database app', 'bootstrap plan: 1 action, 0 already in place (1.0 ms)'])
  })
})
