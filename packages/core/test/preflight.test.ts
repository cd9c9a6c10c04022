import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { component, createApp, defineConfig, definePreflight, externalService, isPlinthError, preflightCheck, runCommand, type PreflightReport } from '../src/index.js'

const silent = { level: 'silent' } as const
const servers: Server[] = []
const folders: string[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r) })))
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-preflight-'))
  folders.push(dir)
  return dir
}

/** A local HTTP server: `hang` accepts requests and never answers. */
async function serve(behaviour: 'ok' | 'hang' | 'error'): Promise<string> {
  const server = createServer((req, res) => {
    if (behaviour === 'hang') return
    res.statusCode = behaviour === 'ok' ? 200 : 503
    res.end(behaviour)
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const row = (report: PreflightReport, category: string, name: string) => report.results.find((r) => r.category === category && r.name === name)
const env = (dir: string, extra: Record<string, string> = {}) => ({ DATA_DIR: dir, NODE_ENV: 'production', ...extra })

describe('app.preflight()', () => {
  it('runs every check at once; one that hangs fails with its cause at its deadline while the others are still reported', async () => {
    const app = createApp({
      name: 'pf',
      logging: silent,
      components: [
        preflightCheck({ category: 'external', name: 'hangs', run: () => new Promise(() => {}) }),
        preflightCheck({ category: 'external', name: 'throws', run: () => { throw new Error('connection reset by peer') } }),
        preflightCheck({ category: 'database', name: 'passes', run: () => ({ status: 'pass', found: 'fine' }) }),
      ],
    })
    const began = performance.now()
    const report = await app.preflight({ env: env(dataDir()), timeout: 300 })
    expect(performance.now() - began).toBeLessThan(3_000)
    expect(row(report, 'external', 'hangs')).toMatchObject({ status: 'fail', found: 'no answer within 300 ms' })
    expect(row(report, 'external', 'hangs')!.fix).toMatch(/hangs/)
    expect(row(report, 'external', 'throws')).toMatchObject({ status: 'fail', found: 'connection reset by peer' })
    expect(row(report, 'external', 'throws')!.found).not.toMatch(/at .*\.ts:\d+/)
    expect(row(report, 'database', 'passes')).toMatchObject({ status: 'pass' })
    // Category order: database before external before system.
    const categories = report.results.map((r) => r.category)
    expect(categories.indexOf('database')).toBeLessThan(categories.indexOf('external'))
    expect(report.ok).toBe(false)
  })

  it('reports a check whose dependencies cannot be built as that check failing, and runs the others', async () => {
    const broken = component('ledger', { create: () => { throw new Error('LEDGER_URL is malformed') } })
    const app = createApp({
      name: 'pf',
      logging: silent,
      components: [
        broken,
        preflightCheck({ category: 'external', name: 'ledger answers', deps: { ledger: broken }, run: () => ({ status: 'pass', found: 'up' }) }),
        preflightCheck({ category: 'external', name: 'other', run: () => ({ status: 'pass', found: 'up' }) }),
      ],
    })
    const report = await app.preflight({ env: env(dataDir()), only: 'external' })
    expect(row(report, 'external', 'ledger answers')).toMatchObject({ status: 'fail' })
    expect(row(report, 'external', 'ledger answers')!.found).toMatch(/LEDGER_URL is malformed|ledger/)
    expect(row(report, 'external', 'other')).toMatchObject({ status: 'pass' })
    expect(report.results.every((r) => r.category === 'external')).toBe(true)
  })

  it('includes the checks a package registers with definePreflight, given the app\'s providers', async () => {
    const mailer = component('mailer', { create: () => ({ verify: () => false }) })
    definePreflight(({ providers }) =>
      providers.filter((p) => p === mailer).map(() => ({
        category: 'external',
        name: 'mail relay',
        run: async ({ resolve }) => ((await resolve(mailer)).verify() ? { status: 'pass', found: 'up' } : { status: 'fail', found: 'relay refused', fix: 'check SMTP_URL' }),
      })),
    )
    const report = await createApp({ name: 'pf', logging: silent, components: [mailer] }).preflight({ env: env(dataDir()), only: ['external'] })
    expect(report.results).toEqual([expect.objectContaining({ category: 'external', name: 'mail relay', status: 'fail', found: 'relay refused', fix: 'check SMTP_URL' })])
  })

  it('environment: an unknown APP_ENV, a missing required variable and development defaults in production', async () => {
    const app = createApp({ name: 'pf', logging: silent, preflight: { requiredEnv: ['PAYMENTS_KEY', 'SMTP_URL'] } })
    const report = await app.preflight({ env: { APP_ENV: 'prod', SMTP_URL: 'smtp://x' }, only: 'environment' })
    expect(row(report, 'environment', 'APP_ENV is known')).toMatchObject({ status: 'fail', found: expect.stringContaining('APP_ENV=prod') })
    expect(row(report, 'environment', 'required variables set')).toMatchObject({ status: 'fail', found: 'not set: PAYMENTS_KEY', fix: expect.stringContaining('PAYMENTS_KEY') })
    const prod = await app.preflight({ env: { PAYMENTS_KEY: 'k', SMTP_URL: 's' }, appEnv: 'production', only: 'environment' })
    expect(row(prod, 'environment', 'APP_ENV is known')).toMatchObject({ status: 'pass', found: 'APP_ENV=production' })
    expect(row(prod, 'environment', 'required variables set')).toMatchObject({ status: 'pass' })
    expect(row(prod, 'environment', 'no development defaults')).toMatchObject({ status: 'warn', found: expect.stringContaining('NODE_ENV') })
  })

  it('monitoring: debug logs and pretty lines in production, and a credential printed in clear', async () => {
    const Config = defineConfig({ schema: z.object({ upstream: z.string(), password: z.string(), greeting: z.string() }), env: { UPSTREAM: 'upstream', DB_PASSWORD: 'password', GREETING: 'greeting' } })
    const app = createApp({ name: 'pf', config: Config, logging: { level: 'debug', pretty: true } })
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl'
    const report = await app.preflight({ env: { APP_ENV: 'production', UPSTREAM: 'https://svc:hunter22@api.example.com', DB_PASSWORD: 'x', GREETING: jwt }, only: 'monitoring' })
    expect(row(report, 'monitoring', 'log level')).toMatchObject({ status: 'warn', found: 'debug in production' })
    expect(row(report, 'monitoring', 'JSON logs')).toMatchObject({ status: 'fail' })
    // password is redacted by its name and the URL's credential by its place; a token under a
    // name that does not say so is printed in clear.
    const leak = row(report, 'monitoring', 'no secret in printed config')!
    expect(leak).toMatchObject({ status: 'fail', found: expect.stringContaining('greeting') })
    expect(leak.found).not.toContain('password')
    expect(leak.found).not.toContain('upstream')
  })

  it('system: free disk below the threshold fails with the fix; the other system checks report what they find', async () => {
    const dir = dataDir()
    const ok = await createApp({ name: 'pf', logging: silent, preflight: { minFreeDiskMb: 1 } }).preflight({ env: env(dir), only: 'system' })
    expect(row(ok, 'system', 'free disk in DATA_DIR')).toMatchObject({ status: 'pass', found: expect.stringContaining(dir) })
    const full = await createApp({ name: 'pf', logging: silent, preflight: { minFreeDiskMb: 1024 ** 3 } }).preflight({ env: env(join(dir, 'not-yet')), only: 'system' })
    expect(row(full, 'system', 'free disk in DATA_DIR')).toMatchObject({ status: 'fail', fix: expect.stringContaining('DATA_DIR') })
    expect(row(full, 'system', 'CPU count')).toMatchObject({ status: 'pass', found: expect.stringMatching(/\d+ CPUs/) })
    const crowded = await createApp({ name: 'pf', logging: silent, preflight: { concurrency: 4096 } }).preflight({ env: env(dir), only: 'system' })
    expect(row(crowded, 'system', 'CPU count')).toMatchObject({ status: 'warn', found: expect.stringContaining('4096 workers') })
  })

  it('external: a healthy service passes; one that hangs, one that answers 503 and a name that does not resolve each fail with their cause', async () => {
    const [healthy, hanging, sick] = await Promise.all([serve('ok'), serve('hang'), serve('error')])
    const app = createApp({
      name: 'pf',
      logging: silent,
      components: [
        externalService({ name: 'payments', url: healthy }),
        externalService({ name: 'search', url: ({ env }) => env.SEARCH_URL, timeout: 400 }),
        externalService({ name: 'mail', url: sick, health: '/healthz' }),
        externalService({ name: 'geo', url: 'http://geo.plinth-preflight.invalid:8080' }),
        externalService({ name: 'crm', url: ({ env }) => env.CRM_URL }),
        externalService({ name: 'fax', url: ({ env }) => env.FAX_URL, required: false }),
      ],
    })
    const report = await app.preflight({ env: env(dataDir(), { SEARCH_URL: hanging }), only: 'external' })
    expect(row(report, 'external', 'payments answers')).toMatchObject({ status: 'pass', found: `${healthy}/health answered 200` })
    expect(row(report, 'external', 'search answers')).toMatchObject({ status: 'fail', found: 'no answer within 400 ms' })
    expect(row(report, 'external', 'mail answers')).toMatchObject({ status: 'fail', found: `${sick}/healthz answered 503` })
    expect(row(report, 'external', 'geo answers')).toMatchObject({ status: 'fail', found: expect.stringMatching(/geo\.plinth-preflight\.invalid does not resolve \((ENOTFOUND|EAI_AGAIN)\)/) })
    expect(row(report, 'external', 'crm answers')).toMatchObject({ status: 'fail', found: 'no URL configured' })
    expect(row(report, 'external', 'fax answers')).toMatchObject({ status: 'pass' })
  })
})

describe('plinth validate', () => {
  function io() {
    const out: string[] = []
    const err: string[] = []
    return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } }
  }
  const checks = (status: 'pass' | 'warn') => [
    preflightCheck({ category: 'database', name: 'connects', run: () => ({ status: 'pass', found: 'up' }) }),
    preflightCheck({ category: 'security', name: 'cors', run: () => (status === 'pass' ? { status, found: 'https://shop.example' } : { status, found: 'no rate limit', fix: 'turn rate limits on' }) }),
  ]

  it('prints one table and exits 0 when nothing fails; --strict exits 1 on a warning', async () => {
    const previous = process.env.DATA_DIR
    process.env.DATA_DIR = dataDir()
    try {
      const app = createApp({ name: 'shop', logging: silent, components: checks('warn'), preflight: { minFreeDiskMb: 1 } })
      const a = io()
      expect(await runCommand(app, ['validate', '--only', 'database,security'], a.io)).toBe(0)
      const table = a.out.join('\n')
      expect(table).toMatch(/^CATEGORY\s+CHECK\s+RESULT\s+FOUND\s+WHAT TO DO$/m)
      expect(table).toMatch(/^database\s+connects\s+pass\s+up$/m)
      expect(table).toMatch(/^security\s+cors\s+WARN\s+no rate limit\s+turn rate limits on$/m)
      expect(table).toMatch(/shop \(development\): ready, with warnings: 1 passed, 1 warning, 0 failed/)
      const b = io()
      expect(await runCommand(app, ['validate', '--only', 'database,security', '--strict'], b.io)).toBe(1)
    } finally {
      if (previous === undefined) delete process.env.DATA_DIR
      else process.env.DATA_DIR = previous
    }
  })

  it('--json prints one document; --env sets the environment; a failure exits 1', async () => {
    const app = createApp({ name: 'shop', logging: silent, components: [preflightCheck({ category: 'secrets', name: 'present', run: (_deps, { production }) => (production ? { status: 'fail', found: 'JWT_SECRET missing', fix: 'set it' } : { status: 'pass', found: 'ok' }) })] })
    const a = io()
    expect(await runCommand(app, ['validate', '--json', '--env', 'production', '--only', 'secrets'], a.io)).toBe(1)
    const doc = JSON.parse(a.out.join('\n')) as PreflightReport
    expect(doc).toMatchObject({ app: 'shop', appEnv: 'production', ok: false, counts: { pass: 0, warn: 0, fail: 1 } })
    expect(doc.results[0]).toMatchObject({ category: 'secrets', name: 'present', status: 'fail', found: 'JWT_SECRET missing', fix: 'set it' })
  })

  it('refuses an unknown category and a bad timeout with usage errors', async () => {
    const app = createApp({ name: 'shop', logging: silent })
    const a = io()
    expect(await runCommand(app, ['validate', '--only', 'databse'], a.io)).toBe(2)
    expect(a.err.join('\n')).toMatch(/no check in category "databse"; the categories are environment, database/)
    expect(await runCommand(app, ['validate', '--timeout', 'soon'], a.io)).toBe(2)
  })
})

describe('the start-up preflight', () => {
  it("'refuse' aborts start-up on a failure before any component starts", async () => {
    let started = false
    const app = createApp({
      name: 'pf',
      logging: silent,
      preflight: { atStart: 'refuse' },
      components: [
        component('server', { eager: true, create: () => ({}), start: () => { started = true } }),
        preflightCheck({ category: 'security', name: 'cors', run: () => ({ status: 'fail', found: 'origin * with credentials', fix: 'list the origins' }) }),
      ],
    })
    const error = await app.start({ env: env(dataDir()) }).catch((e: unknown) => e)
    expect(isPlinthError(error, 'PLINTH_ERR_PREFLIGHT_FAILED')).toBe(true)
    expect((error as Error).message).toMatch(/security\s+cors\s+FAIL\s+origin \* with credentials\s+list the origins/)
    expect(started).toBe(false)
  })

  it("'warn' logs failures and starts anyway", async () => {
    const lines: string[] = []
    const { pino } = await import('pino')
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) })
    const app = createApp({
      name: 'pf',
      logging: logger,
      preflight: { atStart: 'warn' },
      components: [preflightCheck({ category: 'security', name: 'cors', run: () => ({ status: 'fail', found: 'origin *', fix: 'list the origins' }) })],
    })
    await app.start({ env: env(dataDir()) })
    expect(app.state).toBe('ready')
    await expect.poll(() => lines.some((l) => l.includes('preflight fail: security/cors: origin *'))).toBe(true)
    await app.stop()
  })
})
