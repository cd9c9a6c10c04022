import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { EventSpy, component, createApp, defineModule, isPlinthError, registerDatabaseDriver, runCommand, type BootstrapHandler, type Logger, type DatabaseBootstrapDriver } from '../src/index.js'
import type { BootstrapOptions } from '../src/bootstrap/phase.js'

const silent = { level: 'silent' } as const
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const originalCwd = process.cwd()
const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** An empty working directory, and a module folder with a template and an artifact to copy. */
function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'plinth-bootstrap-'))
  folders.push(root)
  const cwd = join(root, 'service')
  const moduleDir = join(root, 'search-module')
  mkdirSync(cwd)
  mkdirSync(join(moduleDir, 'templates'), { recursive: true })
  writeFileSync(join(moduleDir, 'templates/settings.yaml'), 'index: {{dataDir}}/search/index\nenv: {{appEnv}}\nshards: {{shards}}\n')
  writeFileSync(join(moduleDir, 'synonyms.txt'), 'car,automobile\n')
  return { root, cwd, moduleDir }
}

function searchModule(moduleDir: string) {
  return defineModule({
    id: 'search',
    version: '1.0.0',
    baseDir: moduleDir,
    bootstrap: {
      directories: ['search/index', { path: 'search/private', mode: 0o700 }],
      files: [{ path: 'config/search.yaml', template: 'templates/settings.yaml', variables: { shards: '3' } }],
      artifacts: [{ path: 'search/synonyms.txt', source: 'synonyms.txt', sha256: sha256('car,automobile\n') }],
    },
  })
}

function app(moduleDir: string, bootstrap: BootstrapOptions = {}, extra: { logging?: Logger } = {}) {
  return createApp({ name: 'svc', modules: [searchModule(moduleDir)], bootstrap: { retry: 1, ...bootstrap }, logging: extra.logging ?? silent })
}

/** Every path under `dir`, relative, with directories marked by a trailing slash. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1) + (e.isDirectory() ? '/' : ''))
    .sort()
}

function memoryLogger() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg))
      done()
    },
  })
  const logger: Logger = pino({ level: 'info' }, stream)
  return { logger, lines }
}

describe('the bootstrap phase', () => {
  it('prepares everything from an empty folder on a cold boot', async () => {
    const { cwd, moduleDir } = workspace()
    const first = app(moduleDir)
    const spy = new EventSpy()
    first.events.subscribe(spy.listener)
    await first.start({ cwd, env: {} })
    await first.stop()

    expect(tree(join(cwd, 'data'))).toEqual([
      '.plinth/',
      '.plinth/verified.json',
      'cache/',
      'config/',
      'config/search.yaml',
      'logs/',
      'search/',
      'search/index/',
      'search/private/',
      'search/synonyms.txt',
      'tmp/',
    ])
    expect(readFileSync(join(cwd, 'data/config/search.yaml'), 'utf8')).toBe(`index: ${join(cwd, 'data')}/search/index\nenv: development\nshards: 3\n`)
    expect(statSync(join(cwd, 'data/search/private')).mode & 0o777).toBe(0o700)
    expect(readFileSync(join(cwd, 'data/search/synonyms.txt'), 'utf8')).toBe('car,automobile\n')
    const done = spy.of('bootstrap-action').map((a) => `${a.action} ${a.subject} ${a.target}`)
    expect(done).toContain('create directory data/logs')
    expect(done).toContain('create file data/config/search.yaml')
    expect(done).toContain('copy artifact data/search/synonyms.txt')
    // The bootstrap runs once the graph is valid, and before any component is built.
    const phases = spy.of('phase-started').map((e) => e.phase)
    expect(phases.indexOf('validate')).toBeLessThan(phases.indexOf('bootstrap'))
    expect(phases.indexOf('bootstrap')).toBeLessThan(phases.indexOf('start'))
  })

  it('does nothing on a warm boot, and says so', async () => {
    const { cwd, moduleDir } = workspace()
    await app(moduleDir).bootstrap({ cwd, env: {} })
    const config = join(cwd, 'data/config/search.yaml')
    const before = statSync(config).mtimeMs
    const before2 = statSync(join(cwd, 'data/.plinth/verified.json')).mtimeMs

    const { logger, lines } = memoryLogger()
    const second = app(moduleDir, {}, { logging: logger })
    const spy = new EventSpy()
    second.events.subscribe(spy.listener)
    await second.start({ cwd, env: {} })
    await second.stop()
    expect(spy.of('bootstrap-action').every((a) => a.action === 'skip')).toBe(true)
    expect(spy.of('bootstrap-finished')[0]).toMatchObject({ performed: 0, failed: [] })
    expect(lines).toContain('no bootstrap actions needed')
    expect(statSync(config).mtimeMs).toBe(before)
    // Not even the verification index is rewritten: the artifact was trusted from it.
    expect(statSync(join(cwd, 'data/.plinth/verified.json')).mtimeMs).toBe(before2)
  })

  it('repairs a half-prepared folder without touching what was right', async () => {
    const { cwd, moduleDir } = workspace()
    const data = join(cwd, 'data')
    mkdirSync(join(data, 'logs'), { recursive: true, mode: 0o755 })
    mkdirSync(join(data, 'search/private'), { recursive: true, mode: 0o755 })
    mkdirSync(join(data, 'config'))
    writeFileSync(join(data, 'config/search.yaml'), 'edited: by the operator\n')
    writeFileSync(join(data, 'search/synonyms.txt'), 'corrupt')
    writeFileSync(join(data, 'logs/app.log'), 'keep me\n')

    const spy = new EventSpy()
    const repairing = app(moduleDir)
    repairing.events.subscribe(spy.listener)
    await repairing.bootstrap({ cwd, env: {} })

    const byTarget = Object.fromEntries(spy.of('bootstrap-action').map((a) => [a.target, `${a.action}${a.detail ? `: ${a.detail}` : ''}`]))
    expect(byTarget['data/logs']).toBe('skip: exists')
    expect(byTarget['data/cache']).toBe('create')
    expect(byTarget['data/search/private']).toBe('repair: mode 0755 -> 0700')
    expect(byTarget['data/config/search.yaml']).toBe('skip: exists; never overwritten')
    expect(byTarget['data/search/synonyms.txt']).toMatch(/^copy: checksum mismatch .*replacing it from/)
    expect(readFileSync(join(data, 'config/search.yaml'), 'utf8')).toBe('edited: by the operator\n')
    expect(readFileSync(join(data, 'logs/app.log'), 'utf8')).toBe('keep me\n')
    expect(readFileSync(join(data, 'search/synonyms.txt'), 'utf8')).toBe('car,automobile\n')
    expect(statSync(join(data, 'search/private')).mode & 0o777).toBe(0o700)
  })

  it('runs handlers lowest priority first, only those whose shouldRun says so', async () => {
    const { cwd } = workspace()
    const ran: string[] = []
    const handler = (name: string, priority: number, needed = true): BootstrapHandler => ({
      name,
      priority,
      shouldRun: () => needed,
      execute: (ctx) => {
        ran.push(name)
        ctx.record({ action: 'create', subject: 'thing', target: name })
      },
    })
    const handlers = [handler('late', 90), handler('early', 1), handler('unneeded', 50, false), handler('middle', 45)]
    const a = createApp({ name: 'svc', bootstrap: { standardDirectories: false, handlers }, logging: silent })
    const report = await a.bootstrap({ cwd, env: {} })
    expect(ran).toEqual(['early', 'middle', 'late'])
    expect(report?.actions.map((x) => `${x.handler}:${x.target}`)).toEqual(['early:early', 'middle:middle', 'late:late'])
  })

  it('aborts start-up on a failing handler, naming it and the cause, before building anything', async () => {
    const { cwd } = workspace()
    let built = false
    let laterRan = false
    const worker = component('worker', { eager: true, create: () => (built = true) })
    const failing: BootstrapHandler = { name: 'license', priority: 1, shouldRun: () => true, execute: () => { throw new Error('no license file in /etc/svc') } }
    const later: BootstrapHandler = { name: 'later', priority: 2, shouldRun: () => true, execute: () => void (laterRan = true) }
    const a = createApp({ name: 'svc', components: [worker], bootstrap: { retry: 1, handlers: [failing, later] }, logging: silent })
    const error: unknown = await a.start({ cwd, env: {} }).catch((e: unknown) => e)
    expect(isPlinthError(error, 'PLINTH_ERR_BOOTSTRAP_FAILED')).toBe(true)
    expect(String((error as Error).message)).toMatch(/handler "license" failed[\s\S]*license: no license file in \/etc\/svc/)
    expect(laterRan).toBe(false)
    expect(built).toBe(false)
    expect(a.state).toBe('failed')
  })

  it('with failFast off, runs the remaining handlers and reports every failure together', async () => {
    const { cwd } = workspace()
    const ran: string[] = []
    const fails = (name: string, priority: number): BootstrapHandler => ({ name, priority, shouldRun: () => true, execute: () => { ran.push(name); throw new Error(`${name} broke`) } })
    const fine: BootstrapHandler = { name: 'fine', priority: 2, shouldRun: () => true, execute: () => void ran.push('fine') }
    const a = createApp({ name: 'svc', bootstrap: { retry: 1, failFast: false, handlers: [fails('one', 1), fine, fails('two', 3)] }, logging: silent })
    const error = (await a.start({ cwd, env: {} }).catch((e: unknown) => e)) as Error
    expect(ran).toEqual(['one', 'fine', 'two'])
    expect(error.message).toMatch(/2 handlers failed[\s\S]*one: one broke[\s\S]*two: two broke/)
  })

  it('retries a failing handler with backoff, and times out one that hangs', async () => {
    const { cwd } = workspace()
    let attempts = 0
    const flaky: BootstrapHandler = { name: 'flaky', priority: 1, shouldRun: () => true, execute: () => { if (++attempts < 3) throw new Error('EAGAIN') } }
    const spy = new EventSpy()
    const a = createApp({ name: 'svc', bootstrap: { standardDirectories: false, retry: { attempts: 3, initialDelay: 1 }, handlers: [flaky] }, logging: silent })
    a.events.subscribe(spy.listener)
    await a.bootstrap({ cwd, env: {} })
    expect(attempts).toBe(3)
    expect(spy.of('bootstrap-handler-failed').map((e) => e.retryIn !== undefined)).toEqual([true, true])

    const hang: BootstrapHandler = { name: 'hang', priority: 1, shouldRun: () => true, execute: () => new Promise(() => {}) }
    const b = createApp({ name: 'svc', bootstrap: { standardDirectories: false, retry: 1, timeout: 50, handlers: [hang] }, logging: silent })
    await expect(b.bootstrap({ cwd, env: {} })).rejects.toThrow(/bootstrap handler "hang" did not finish within 50 ms/)
  })

  it('is skipped entirely when disabled', async () => {
    const { cwd, moduleDir } = workspace()
    await app(moduleDir, { enabled: false }).start({ cwd, env: {} })
    expect(readdirSync(cwd)).toEqual([])
  })

  it('names the template and line of an unknown placeholder, and writes nothing for it', async () => {
    const { cwd, moduleDir } = workspace()
    writeFileSync(join(moduleDir, 'templates/settings.yaml'), 'ok: {{appName}}\nbad: {{shardz}}\n')
    const error = (await app(moduleDir).bootstrap({ cwd, env: {} }).catch((e: unknown) => e)) as Error
    expect(error.message).toMatch(/files: PLINTH_ERR_TEMPLATE: the template .*search-module\/templates\/settings\.yaml uses unknown placeholders: \{\{shardz\}\} on line 2/)
  })

  it('uses DATA_DIR, or a function of the configuration, as the data directory', async () => {
    const { cwd, moduleDir } = workspace()
    await app(moduleDir).bootstrap({ cwd, env: { DATA_DIR: 'var/lib/svc' } })
    expect(tree(join(cwd, 'var/lib/svc'))).toContain('search/synonyms.txt')
    const report = await app(moduleDir, { dataDir: () => join(cwd, 'elsewhere') }).bootstrap({ cwd, env: {}, dryRun: true })
    expect(report?.dataDir).toBe(join(cwd, 'elsewhere'))
  })
})

describe('databases declared by modules', () => {
  const withDatabase = defineModule({ id: 'telemetry', version: '1.0.0', bootstrap: { databases: [{ name: 'readings', driver: 'sqlite', options: { tables: ['reading'] } }] } })

  it('fail the bootstrap clearly when no driver is registered', async () => {
    const { cwd } = workspace()
    const a = createApp({ name: 'svc', modules: [withDatabase], bootstrap: { retry: 1 }, logging: silent })
    const error = (await a.start({ cwd, env: {} }).catch((e: unknown) => e)) as Error
    expect(error.message).toContain('databases: PLINTH_ERR_NO_DATABASE_DRIVER')
    expect(error.message).toContain('module "telemetry" declares database "readings" (driver "sqlite")')
    expect(error.message).toContain('registered drivers: none')
  })

  it('are created once by a registered driver', async () => {
    const { cwd } = workspace()
    const created = new Set<string>()
    const driver: DatabaseBootstrapDriver = {
      name: 'sqlite',
      exists: (db) => created.has(db.name),
      create: (db, ctx) => {
        expect(ctx.module).toBe('telemetry')
        expect(ctx.env.DATABASE_URL).toBe('sqlite://test')
        expect(db.options).toEqual({ tables: ['reading'] })
        created.add(db.name)
        return `${db.name}.sqlite with 1 table`
      },
    }
    const unregister = registerDatabaseDriver(driver)
    try {
      const spy = new EventSpy()
      const a = createApp({ name: 'svc', modules: [withDatabase], logging: silent })
      a.events.subscribe(spy.listener)
      await a.bootstrap({ cwd, env: { DATABASE_URL: 'sqlite://test' } })
      await a.bootstrap({ cwd, env: { DATABASE_URL: 'sqlite://test' } })
      expect(spy.of('bootstrap-action').filter((e) => e.subject === 'database').map((e) => `${e.action} ${e.detail}`)).toEqual([
        'create readings.sqlite with 1 table',
        'skip exists (sqlite)',
      ])
    } finally {
      unregister()
    }
  })
})

describe('an optional database', () => {
  it('whose server cannot be reached is left for a later start, with a warning, instead of failing the bootstrap; a required one fails it', async () => {
    const { cwd } = workspace()
    const unreachable: DatabaseBootstrapDriver = {
      name: 'sql',
      exists: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5999')),
      create: () => undefined,
    }
    const declare = (optional: boolean) => ({ databases: [{ name: 'app', optional }] })
    const lines: string[] = []
    const log = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(String(chunk)), done()) })) as unknown as Logger
    const spy = new EventSpy()
    const tolerant = createApp({ name: 'svc', bootstrap: { databaseDrivers: [unreachable], requirements: declare(true) }, logging: log })
    tolerant.events.subscribe(spy.listener)
    await tolerant.bootstrap({ cwd, env: {} })
    expect(spy.of('bootstrap-action').filter((e) => e.subject === 'database').map((e) => e.action)).toEqual(['skip'])
    expect(lines.join('')).toContain('database \\"app\\" cannot be checked now, so it is not created: connect ECONNREFUSED 127.0.0.1:5999')

    const strict = createApp({ name: 'svc', bootstrap: { databaseDrivers: [unreachable], requirements: declare(false), retry: 1 }, logging: silent })
    const error = (await strict.bootstrap({ cwd, env: {} }).catch((e: unknown) => e)) as Error
    expect(error.message).toContain('ECONNREFUSED')
  })

  it('is declared as true or false', async () => {
    const { cwd } = workspace()
    const a = createApp({ name: 'svc', bootstrap: { requirements: { databases: [{ name: 'app', optional: 'yes' as unknown as boolean }] } }, logging: silent })
    const error = (await a.bootstrap({ cwd, env: {} }).catch((e: unknown) => e)) as Error
    expect(error.message).toContain('bootstrap.requirements.databases[0].optional: must be true or false; got "yes"')
  })
})

describe('plinth bootstrap', () => {
  it('prints the plan with --dry-run and touches nothing; the real run twice does the work once', async () => {
    const { cwd, moduleDir } = workspace()
    process.chdir(cwd)
    const out: string[] = []
    const err: string[] = []
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }
    const a = app(moduleDir)
    try {
      expect(await runCommand(a, ['bootstrap', '--dry-run'], io)).toBe(0)
      expect(readdirSync(cwd)).toEqual([])
      const plan = out.join('\n')
      expect(plan).toMatch(/create\s+directory\s+data\/logs/)
      expect(plan).toMatch(/create\s+file\s+data\/config\/search\.yaml\s+\(from .*settings\.yaml\) \[module search\]/)
      expect(plan).toMatch(/copy\s+artifact\s+data\/search\/synonyms\.txt/)
      expect(out.at(-1)).toMatch(/^plan: \d+ to create, 1 to copy; 0 already in place; nothing was written \(dry run\)$/)

      out.length = 0
      expect(await runCommand(app(moduleDir), ['bootstrap'], io)).toBe(0)
      expect(out.at(-1)).toMatch(/^bootstrap done: \d+ actions/)
      out.length = 0
      expect(await runCommand(app(moduleDir), ['bootstrap'], io)).toBe(0)
      expect(out).toEqual([expect.stringMatching(/^no bootstrap actions needed \(\d+ already in place in .*data\)$/)])

      out.length = 0
      expect(await runCommand(app(moduleDir), ['bootstrap', '--dry-run'], io)).toBe(0)
      expect(out.filter((l) => /^\s+(create|copy|fetch|repair)/.test(l))).toEqual([])
      expect(out.some((l) => /skip\s+artifact\s+data\/search\/synonyms\.txt\s+\(verified\)/.test(l))).toBe(true)
      expect(err).toEqual([])
    } finally {
      process.chdir(originalCwd)
    }
  })

  it('exits non-zero naming the handler and the cause', async () => {
    const { cwd } = workspace()
    const err: string[] = []
    const broken: BootstrapHandler = { name: 'certs', priority: 1, shouldRun: () => true, execute: () => { throw new Error('CA bundle missing') } }
    const a = createApp({ name: 'svc', bootstrap: { retry: 1, handlers: [broken] }, logging: silent })
    process.chdir(cwd)
    try {
      expect(await runCommand(a, ['bootstrap'], { out: () => {}, err: (t) => void err.push(t) })).toBe(1)
    } finally {
      process.chdir(originalCwd)
    }
    expect(err.join('\n')).toMatch(/PLINTH_ERR_BOOTSTRAP_FAILED: bootstrap handler "certs" failed[\s\S]*CA bundle missing/)
  })
})
