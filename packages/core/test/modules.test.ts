import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { EventSpy, component, createApp, defineModule, isPlinthError, type Module } from '../src/index.js'

const silent = { level: 'silent' } as const
const core = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href
const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** A modules folder: each entry is a sub-folder with the given files. */
function modulesFolder(modules: Record<string, Record<string, string>>): { cwd: string; dir: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'plinth-modules-'))
  folders.push(cwd)
  const dir = join(cwd, 'modules')
  for (const [name, files] of Object.entries(modules)) {
    mkdirSync(join(dir, name), { recursive: true })
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, name, file), text)
  }
  return { cwd, dir }
}

const manifest = (fields: Record<string, unknown>) => JSON.stringify(fields, null, 2)

describe('phase 1: registration', () => {
  it('registers listed modules in dependency order, whatever the list order', async () => {
    const order: string[] = []
    const mod = (id: string, dependsOn: Record<string, string> = {}) => defineModule({ id, version: '1.2.0', dependsOn, init: () => void order.push(id) })
    const app = createApp({ name: 'svc', modules: [mod('billing', { users: '^1.0.0', audit: '*' }), mod('users', { audit: '>=1' }), mod('audit')], logging: silent })
    const spy = new EventSpy()
    app.events.subscribe(spy.listener)
    await app.start({ cwd: tmpdir(), env: {} })
    await app.stop()
    expect(spy.of('module-registered').map((e) => e.module)).toEqual(['audit', 'users', 'billing'])
    expect(order).toEqual(['audit', 'users', 'billing'])
    expect(app.modules().map((m) => [m.id, m.state])).toEqual([['audit', 'ready'], ['users', 'ready'], ['billing', 'ready']])
  })

  it('excludes a module whose import throws, with every module depending on it, and goes on', async () => {
    const { cwd, dir } = modulesFolder({
      storage: { 'module.mjs': `throw new Error('cannot reach the license server at import')` },
      search: { 'module.json': manifest({ id: 'search', version: '1.0.0', dependsOn: { storage: '^1.0.0' } }) },
      reports: { 'module.mjs': `export default { id: 'reports', version: '2.0.0', dependsOn: { search: '^1.0.0' }, components: [] }` },
      greetings: {
        'module.mjs': `import { component, defineModule } from '${core}'
export const greeter = component('greeter', { eager: true, create: () => ({ hello: 'hi' }) })
export default defineModule({ id: 'greetings', version: '1.0.0', components: [greeter] })`,
      },
    })
    const app = createApp({ name: 'svc', discoverModules: dir, logging: silent })
    const spy = new EventSpy()
    app.events.subscribe(spy.listener)
    await app.start({ cwd, env: {} })

    expect(app.state).toBe('degraded')
    expect(app.components().map((c) => `${c.name}:${c.module}:${c.state}`)).toEqual(['greeter:greetings:started'])
    const byId = Object.fromEntries(app.modules().map((m) => [m.id, m]))
    expect(byId.greetings?.state).toBe('ready')
    expect(byId.storage).toMatchObject({ state: 'excluded', source: 'modules/storage/module.mjs' })
    // What the module threw, and the line of its file that threw it.
    expect(byId.storage?.reason).toMatch(/^could not be loaded: \S*modules\/storage\/module\.mjs:\d+ threw Error: cannot reach the license server at import$/)
    expect((byId.storage?.error as Error).message).toMatch(/^module "storage" \(modules\/storage\/module\.mjs\) could not be loaded: \S*module\.mjs:\d+ threw Error: cannot reach/)
    expect(byId.search?.reason).toMatch(/^needs "storage" \^1\.0\.0, which was excluded: could not be loaded: \S*module\.mjs:\d+ threw Error: cannot reach the license server at import$/)
    expect((byId.search?.error as Error).message).toMatch(/^module "search" \(modules\/search\/module\.json\) needs "storage"/)
    expect(byId.reports?.reason).toMatch(/^needs "search" \^1\.0\.0, which was excluded: needs "storage" \^1\.0\.0, which was excluded: could not be loaded/)
    expect(spy.of('module-excluded').map((e) => e.module)).toEqual(['storage', 'search', 'reports'])
    await app.stop()
  })

  it('excludes a module whose dependency is missing or of an incompatible version', async () => {
    const users = defineModule({ id: 'users', version: '1.4.0' })
    const billing = defineModule({ id: 'billing', version: '1.0.0', dependsOn: { users: '^2.0.0' } })
    const mail = defineModule({ id: 'mail', version: '1.0.0', dependsOn: { smtp: '^1.0.0' } })
    const app = createApp({ name: 'svc', modules: [users, billing, mail], logging: silent })
    await app.start({ cwd: tmpdir(), env: {} })
    await app.stop()
    const reasons = Object.fromEntries(app.modules().map((m) => [m.id, m.reason]))
    expect(reasons.users).toBeUndefined()
    expect(reasons.billing).toMatch(/^needs "users" \^2\.0\.0, but "users" is 1\.4\.0 \(.*modules\.test\.ts:\d+\)$/)
    expect((app.modules().find((m) => m.id === 'billing')?.error as Error).message).toMatch(/^module "billing" \(.*modules\.test\.ts:\d+\) needs/)
    expect(reasons.mail).toMatch(/needs "smtp" \^1\.0\.0, which no module provides/)
  })

  it('excludes the modules of a dependency cycle, naming it', async () => {
    const a = defineModule({ id: 'a', dependsOn: { b: '*' } })
    const b = defineModule({ id: 'b', dependsOn: { a: '*' } })
    const c = defineModule({ id: 'c', dependsOn: { a: '*' } })
    const app = createApp({ name: 'svc', modules: [a, b, c], logging: silent })
    await app.start({ cwd: tmpdir(), env: {} })
    await app.stop()
    const reasons = Object.fromEntries(app.modules().map((m) => [m.id, m.reason]))
    expect(reasons.a).toMatch(/is on a dependency cycle: a -> b -> a/)
    expect(reasons.b).toMatch(/is on a dependency cycle: a -> b -> a/)
    expect(reasons.c).toMatch(/needs "a" \*, which was excluded/)
  })

  it('excludes both modules that claim one id', async () => {
    const { cwd, dir } = modulesFolder({ one: { 'module.json': manifest({ id: 'users', version: '1.0.0' }) } })
    const app = createApp({ name: 'svc', modules: [defineModule({ id: 'users' })], discoverModules: dir, logging: silent })
    await app.start({ cwd, env: {} })
    await app.stop()
    expect(app.modules()).toEqual([expect.objectContaining({ id: 'users', state: 'excluded', reason: expect.stringMatching(/two modules declare the id "users": .*modules\.test\.ts:\d+ and modules\/one\/module\.json/) as unknown })])
  })

  it('says which excluded module would have provided a token that a component still needs', async () => {
    const search = component('search', { create: () => ({}) })
    const searching = defineModule({ id: 'searching', version: '1.0.0', dependsOn: { index: '^1.0.0' }, components: [search] })
    const api = component('api', { eager: true, deps: { search }, create: () => ({}) })
    const app = createApp({ name: 'svc', modules: [searching], components: [api], logging: silent })
    const error = (await app.start({ cwd: tmpdir(), env: {} }).catch((e: unknown) => e)) as Error
    expect(isPlinthError(error, 'PLINTH_ERR_INVALID_GRAPH')).toBe(true)
    expect(error.message).toMatch(/"api" .* depends on "search" \(as deps\.search\), which nothing provides.*; module "searching", which provides it, was excluded: needs "index" \^1\.0\.0, which no module provides/)
  })

  it('aborts start-up when a required module is excluded, starting nothing', async () => {
    let built = false
    const worker = component('worker', { eager: true, create: () => (built = true) })
    const payments = defineModule({ id: 'payments', required: true, dependsOn: { ledger: '^1.0.0' } })
    const app = createApp({ name: 'svc', components: [worker], modules: [payments], logging: silent })
    const error = (await app.start({ cwd: tmpdir(), env: {} }).catch((e: unknown) => e)) as Error
    expect(isPlinthError(error, 'PLINTH_ERR_REQUIRED_MODULE')).toBe(true)
    expect(error.message).toMatch(/a required module was excluded:\n {2}- payments \(.*modules\.test\.ts:\d+\): needs "ledger" \^1\.0\.0, which no module provides$/)
    expect(built).toBe(false)
  })

  it('treats a module listed as required by discovery as required even when its code cannot load', async () => {
    const { cwd, dir } = modulesFolder({ payments: { 'module.mjs': 'syntax error here(' } })
    const app = createApp({ name: 'svc', discoverModules: { dir, required: ['payments'] }, logging: silent })
    await expect(app.start({ cwd, env: {} })).rejects.toThrow(/required module was excluded:\n {2}- payments \(modules\/payments\/module\.mjs\): could not be loaded: /)
  })

  it('takes components and init from the code beside a manifest', async () => {
    const { cwd, dir } = modulesFolder({
      clock: {
        'module.json': manifest({ id: 'clock', version: '3.1.0', description: 'the time' }),
        'module.mjs': `import { component } from '${core}'
export const components = [component('clock', { eager: true, create: () => 42 })]
export const init = async ({ resolve }) => { globalThis.clockInit = 'ran' }`,
      },
    })
    const app = createApp({ name: 'svc', discoverModules: new URL(pathToFileURL(dir + '/')), logging: silent })
    await app.start({ cwd, env: {} })
    await app.stop()
    expect(app.modules()).toEqual([expect.objectContaining({ id: 'clock', version: '3.1.0', state: 'ready' })])
    expect(app.components().map((c) => `${c.name}:${c.module}`)).toEqual(['clock:clock'])
    expect((globalThis as { clockInit?: string }).clockInit).toBe('ran')
  })
})

describe('declarations and manifests that are wrong', () => {
  it('name the manifest file and every field at fault', async () => {
    const { cwd, dir } = modulesFolder({
      bad: {
        'module.json': manifest({
          id: 'bad',
          version: 'banana',
          dependsOn: { users: 'not a range' },
          bootstrap_requirements: {},
          bootstrap: { directories: ['../outside'], artifacts: [{ path: 'm.bin', source: 'ftp://x/m.bin', sha256: 'abc' }] },
        }),
      },
      broken: { 'module.json': '{ "id": "broken", ' },
    })
    const app = createApp({ name: 'svc', discoverModules: dir, logging: silent })
    await app.start({ cwd, env: {} })
    await app.stop()
    const [bad, broken] = app.modules()
    expect(bad?.state).toBe('excluded')
    const message = (bad?.error as Error).message
    expect(message).toMatch(/^module "bad" \(modules\/bad\/module\.json\) has 6 problems:/)
    expect(message).toContain('- bootstrap_requirements: unknown field; it is spelled "bootstrap" here')
    expect(message).toContain('- version: must be a semver version such as "1.2.0"; got "banana"')
    expect(message).toContain('- dependsOn.users: must be a semver range such as "^1.0.0" or "*"; got "not a range"')
    expect(message).toContain('- bootstrap.directories[0]: must be relative and stay inside the data directory; got "../outside"')
    expect(message).toContain('- bootstrap.artifacts[0].source: only http, https and file URLs can be fetched; got "ftp://x/m.bin"')
    expect(message).toContain('- bootstrap.artifacts[0].sha256: must be the SHA-256 of the content as 64 hex digits')
    expect(broken?.reason).toMatch(/^has 1 problem: \(root\): is not valid JSON: /)
    expect((broken?.error as Error).message).toMatch(/- \(root\): is not valid JSON: /)
  })

  it('name the file and line of a defineModule call, and the field', async () => {
    const wrong = defineModule({ id: 'wrong', version: '1.x', initTimeout: -1 })
    const app = createApp({ name: 'svc', modules: [wrong], logging: silent })
    await app.start({ cwd: tmpdir(), env: {} })
    await app.stop()
    const message = (app.modules()[0]?.error as Error).message
    expect(message).toMatch(/^module "wrong" \(.*modules\.test\.ts:\d+\) has 2 problems:/)
    expect(message).toContain('- version: must be a semver version such as "1.2.0"; got "1.x"')
    expect(message).toContain('- initTimeout: must be a positive number of milliseconds; got -1')
  })

  it('name the code file whose id disagrees with its manifest', async () => {
    const { cwd, dir } = modulesFolder({
      users: { 'module.json': manifest({ id: 'users', version: '1.0.0' }), 'module.mjs': `export default { id: 'accounts', components: [] }` },
    })
    const app = createApp({ name: 'svc', discoverModules: dir, logging: silent })
    await app.start({ cwd, env: {} })
    await app.stop()
    expect((app.modules()[0]?.error as Error).message).toContain('(modules/users/module.mjs) has 1 problem:\n  - id: is "accounts", but modules/users/module.json says "users"')
  })
})

describe('phase 2: init', () => {
  it('runs after the module\'s components have started, and after its dependencies\' inits', async () => {
    const log: string[] = []
    const db = component('db', { eager: true, create: () => ({}), start: () => void log.push('db started') })
    const users = defineModule({ id: 'users', version: '1.0.0', components: [db], init: async () => { await new Promise((r) => setTimeout(r, 20)); log.push('users init') } })
    const search = defineModule({ id: 'search', version: '1.0.0', dependsOn: { users: '^1' }, init: () => void log.push('search init') })
    const app = createApp({ name: 'svc', modules: [search, users], logging: silent })
    await app.start({ cwd: tmpdir(), env: {} })
    await app.stop()
    expect(log).toEqual(['db started', 'users init', 'search init'])
  })

  it('leaves a module whose init fails degraded, and the app running', async () => {
    const cache = component('cache', { eager: true, create: () => new Map<string, string>() })
    const warmup = defineModule({
      id: 'warmup',
      components: [cache],
      init: async ({ resolve }) => {
        ;(await resolve(cache)).set('ready', 'no')
        throw new Error('warm-up source unreachable')
      },
    })
    const app = createApp({ name: 'svc', modules: [warmup], logging: silent })
    const spy = new EventSpy()
    app.events.subscribe(spy.listener)
    await app.start({ cwd: tmpdir(), env: {} })
    expect(app.state).toBe('degraded')
    expect(app.ready).toBe(true)
    expect(app.modules()[0]).toMatchObject({ id: 'warmup', state: 'degraded', reason: 'failed to initialise: warm-up source unreachable' })
    expect(app.components()[0]?.state).toBe('started')
    expect(spy.of('module-degraded')).toHaveLength(1)
    await app.stop()
  })

  it('keeps its states when a running app is checked again', async () => {
    const flaky = defineModule({ id: 'flaky', init: () => { throw new Error('cold cache') } })
    const app = createApp({ name: 'svc', modules: [flaky], logging: silent })
    await app.start({ cwd: tmpdir(), env: {} })
    await app.check({ cwd: tmpdir(), env: {} })
    expect(app.modules()[0]?.state).toBe('degraded')
    await app.stop()
  })

  it('is fatal for a required module: start-up fails and what had started is stopped', async () => {
    const stopped: string[] = []
    const db = component('db', { eager: true, create: () => ({}), stop: () => void stopped.push('db') })
    const core: Module = defineModule({ id: 'core', required: true, components: [db], init: () => { throw new Error('schema too new') } })
    const app = createApp({ name: 'svc', modules: [core], logging: silent })
    const error = (await app.start({ cwd: tmpdir(), env: {} }).catch((e: unknown) => e)) as Error
    expect(isPlinthError(error, 'PLINTH_ERR_MODULE_INIT_FAILED')).toBe(true)
    expect(error.message).toMatch(/a required module failed to initialise:\n {2}- core: PLINTH_ERR_MODULE_INIT_FAILED: module "core" .* failed to initialise: schema too new/)
    expect(stopped).toEqual(['db'])
    expect(app.state).toBe('failed')
  })

  it('times out an init that hangs, leaving the module degraded', async () => {
    const slow = defineModule({ id: 'slow', initTimeout: 30, init: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))) })
    const app = createApp({ name: 'svc', modules: [slow], logging: silent })
    await app.start({ cwd: tmpdir(), env: {} })
    await app.stop()
    expect(app.modules()[0]?.reason).toMatch(/did not initialise within 30 ms/)
  })
})
