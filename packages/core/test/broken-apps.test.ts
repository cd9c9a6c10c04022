import { describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fixtureDir, plinth, runApp, ways } from './broken-apps.js'

describe.each(ways)('a broken app through %s', (_, launch) => {
  it('files that import each other in a circle get the circle of files and the lazy form as the fix', async () => {
    const { code, stderr } = await launch('import-cycle')
    expect(code).toBe(1)
    expect(stderr).toContain('PLINTH_ERR_IMPORT_CYCLE')
    expect(stderr).toContain('src/orders.ts -> src/payments.ts -> src/ledger.ts -> src/orders.ts')
    expect(stderr).toContain('src/ledger.ts:5 reads "orders" before src/orders.ts has finished loading')
    expect(stderr).toContain('`deps: () => ({ orders })`')
    expect(stderr).not.toMatch(/^\s+at /m) // a report, not a stack
  })

  it('with the lazy form the files load, and the dependency cycle is reported with its closing edge and the fix', async () => {
    const { code, stderr } = await launch('dependency-cycle')
    expect(code).toBe(1)
    expect(stderr).toContain('[PLINTH_ERR_CYCLE] dependency cycle: orders -> payments -> ledger -> orders')
    expect(stderr).toContain('"ledger" depends on "orders" as deps.orders (src/ledger.ts:5), which closes it')
    expect(stderr).toContain('orders declared at src/orders.ts:4')
    expect(stderr).toMatch(/fix: Break the cycle/)
  })

  it('a file that throws while the app loads is reported with what it threw and its file:line', async () => {
    const { code, stderr } = await launch('throws-on-import')
    expect(code).toBe(1)
    expect(stderr).toContain('PLINTH_ERR_APP_LOAD_FAILED')
    expect(stderr).toContain('src/mailer.ts:4 threw Error: SMTP_HOST is not set')
    expect(stderr).not.toContain('TypeScript')
  })
})

describe.each(ways)('graph mistakes through %s', (_, launch) => {
  it('every problem says what, where (the TypeScript line) and what to do, and nothing is written to disk', async () => {
    const { code, stderr } = await launch('graph-mistakes')
    expect(code).toBe(1)
    expect(stderr).toContain('3 problems')
    // A duplicate names both lists it is in.
    expect(stderr).toContain('[PLINTH_ERR_DUPLICATE_PROVIDER] "mailer" (declared at src/mailer.ts:3) is listed twice: in the app\'s components (src/app.ts:7) and in module "billing" (src/billing.ts:4)')
    // "Did you mean" keeps the misspelt token's declaration: the line to fix.
    expect(stderr).toContain('"reports" (src/reports.ts:4) depends on "databse" (as deps.db), which nothing provides; did you mean "database" (src/database.ts:4)? ("databse" is declared at src/tokens.ts:8)')
    // An undefined dependency is matched to the provided token it resembles.
    expect(stderr).toContain('"audit" (src/reports.ts:11): deps.database is not a token, optional(token) or accessor(token); got undefined (is the import circular, or the name misspelt?); did you mean "database" (src/database.ts:4)?')
    expect(stderr.match(/^ {3}fix: /gm)).toHaveLength(3)
    expect(stderr).not.toMatch(/dist\/|\.js:\d/)
    expect(existsSync(join(fixtureDir('graph-mistakes'), 'data'))).toBe(false)
  })
})

describe.each(ways)('missing configuration through %s', (_, launch) => {
  it('a key is named by its full path and the env var that sets it, exit 78, and nothing is written to disk', async () => {
    const { code, stderr } = await launch('missing-config')
    expect(code).toBe(78)
    expect(stderr).toContain('declared at src/app.ts:4')
    expect(stderr).toContain('  - database.url (missing; set DATABASE_URL): ')
    expect(stderr).toContain('  - http (missing): ')
    expect(existsSync(join(fixtureDir('missing-config'), 'data'))).toBe(false)
  })
})

describe('modules left out', () => {
  it('plinth check fails on excluded modules, naming each with its reason and the line that threw, without a TypeScript hint', async () => {
    const { code, stdout, stderr } = await plinth('excluded-modules', 'check')
    expect(code).toBe(1)
    expect(stdout).not.toContain('graph valid')
    expect(stderr).toContain('2 problems:')
    expect(stderr).toContain('[PLINTH_ERR_MODULE_IMPORT_FAILED] module "mailer" (src/modules/mailer/module.ts) is excluded: could not be loaded: src/modules/mailer/module.ts:4 threw Error: SMTP_HOST is not set')
    expect(stderr).toContain('[PLINTH_ERR_MODULE_DEPENDENCY] module "reports" (src/modules/reports/module.ts) is excluded: needs "mailer" ^1.0.0, which was excluded')
    expect(stderr).toMatch(/fix: Fix the line named/)
    expect(stderr).not.toContain('TypeScript')
  })

  it.each([
    ['plinth start', () => plinth('excluded-modules', 'start')],
    ['run(app)', () => runApp('excluded-modules', 'start')],
  ])('the ready line of %s names the modules excluded and why', async (_, launch) => {
    const { stdout } = await launch()
    const ready = stdout.split('\n').find((line) => line.includes('ready in'))
    expect(ready).toContain('modules excluded: mailer (could not be loaded: src/modules/mailer/module.ts:4 threw Error: SMTP_HOST is not set), reports (needs')
  })
})

describe('a valid app', () => {
  it('plinth check prints no warning about Plinth\'s own components', async () => {
    const { code, stdout, stderr } = await plinth('throws-on-import', 'check', [], { SMTP_HOST: 'localhost' })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain('graph valid')
  })
})

describe.each([
  ['plinth start', (app: string) => plinth(app, 'start')],
  ['run(app)', (app: string) => runApp(app, 'start')],
] as const)('failures at start and stop through %s', (_, launch) => {
  it('a start that throws names the line that threw, what was rolled back and what never started', async () => {
    const { code, stderr } = await launch('start-failure')
    expect(code).toBe(1)
    expect(stderr).toContain('"payments" (src/app.ts:4) failed to start: cannot reach https://payments.invalid (thrown at src/app.ts:9)')
    expect(stderr).toContain('rolled back (started, then stopped again): cache')
    expect(stderr).toContain('never started: checkout (waits on payments)')
  })

  it('a start timeout names the deadline and where it was set', async () => {
    const { code, stderr } = await launch('start-timeout')
    expect(code).toBe(1)
    expect(stderr).toContain('"search" (src/app.ts:3) did not start within 300 ms (its own startTimeout, set at src/app.ts:3)')
    expect(stderr).toContain('\n    fix: Raise the component\'s startTimeout, or find why its start hangs')
  })

  it('a stop past its deadline is reported on stderr with its file:line and what was still waiting on it', async () => {
    const { code, stdout, stderr } = await launch('stop-timeout')
    expect(code).toBe(1)
    expect(stderr).toContain('PLINTH_ERR_STOP_TIMEOUT: "queue" (src/app.ts:4) did not stop within 300 ms (its own stopTimeout, set at src/app.ts:4); still waiting on it to stop: db')
    expect(stderr).toContain('hint: ')
    // The shutdown's last line does not read as a clean stop.
    const last = `${stdout}${stderr}`.split('\n').filter((line) => line.includes('stopped in')).at(-1)
    expect(last).toMatch(/stopped in [\d.]+ ms; failed to stop: queue \(see above\)/)
  })
})
