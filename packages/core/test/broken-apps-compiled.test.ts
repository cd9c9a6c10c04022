import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { fixtureDir, nodeOn, plinthOn, type Outcome } from './broken-apps.js'

/**
 * A broken app as most users deploy it: compiled by tsc with source maps into dist/, and run
 * with `plinth --app dist/<entry>.js`. Every file:line of its reports must name the TypeScript
 * source the user edits (src/*.ts), never the compiled dist/*.js.
 */
const dir = fixtureDir('compiled')
/** This run's own output folder inside dist/, so that two runs of this file at once do not share one. */
const out = `dist/run-${process.pid}`

/** Compiles the fixture as `tsc -p tsconfig.json` does (type errors and all: the app is broken on purpose), into `out`. */
function compile(): void {
  rmSync(join(dir, out), { recursive: true, force: true })
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d: ts.Diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  }
  const parsed = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), {}, host)
  if (!parsed) throw new Error(`cannot read ${join(dir, 'tsconfig.json')}`)
  const { emitSkipped } = ts.createProgram(parsed.fileNames, { ...parsed.options, outDir: join(dir, out) }).emit()
  if (emitSkipped) throw new Error('tsc emitted nothing for the compiled fixture')
}

/** The report's lines: what plinth printed itself, without the JSON log lines of the app's logger. */
const report = (outcome: Outcome) => outcome.stderr.split('\n').filter((line) => !line.startsWith('{')).join('\n')

let runs: Record<'config' | 'start' | 'graph' | 'load' | 'cycle' | 'runConfig' | 'runStart', Outcome>

beforeAll(async () => {
  compile()
  // The runs are independent processes: run them side by side.
  const [config, start, graph, load, cycle, runConfig, runStart] = await Promise.all([
    plinthOn('compiled', `${out}/app.js`, 'check'),
    plinthOn('compiled', `${out}/app.js`, 'start', [], { PAYMENTS_URL: 'https://payments.invalid' }),
    plinthOn('compiled', `${out}/graph.js`, 'check'),
    plinthOn('compiled', `${out}/notifier.js`, 'check'),
    plinthOn('compiled', `${out}/cycle.js`, 'check'),
    // `node dist/main.js`: Node's own source maps are off, so Plinth reads the .js.map files itself.
    nodeOn('compiled', `${out}/main.js`, 'start'),
    nodeOn('compiled', `${out}/main.js`, 'start', { PAYMENTS_URL: 'https://payments.invalid' }),
  ])
  runs = { config, start, graph, load, cycle, runConfig, runStart }
}, 120_000)

afterAll(() => rmSync(join(dir, out), { recursive: true, force: true }))

describe('a broken app compiled to dist/ with source maps, through plinth --app dist/...js', () => {
  it.each(['config', 'runConfig'] as const)('a configuration error is declared at the TypeScript file (%s)', (run) => {
    expect(runs[run].code).toBe(78)
    expect(report(runs[run])).toContain('(declared at src/app.ts:4) has 1 problem')
    expect(report(runs[run])).toContain('  - payments.url (missing; set PAYMENTS_URL)')
  })

  it.each(['start', 'runStart'] as const)('a start that throws names the TypeScript lines of the component and of the throw (%s)', (run) => {
    expect(runs[run].code).toBe(1)
    expect(report(runs[run])).toContain('"payments" (src/app.ts:8) failed to start: cannot reach https://payments.invalid (thrown at src/app.ts:14)')
  })

  it('graph problems name the TypeScript lines of declarations, lists and suggestions', () => {
    const text = report(runs.graph)
    expect(runs.graph.code).toBe(1)
    expect(text).toContain('4 problems')
    expect(text).toContain('"mailer" (declared at src/mailer.ts:3) is listed twice: in the app\'s components (src/graph.ts:23) and in module "billing" (src/billing.ts:4)')
    expect(text).toContain('"audit" (src/graph.ts:14): deps.database is not a token, optional(token) or accessor(token); got undefined (is the import circular, or the name misspelt?); did you mean "database" (src/graph.ts:6)?')
    expect(text).toContain('"reports" (src/graph.ts:8) depends on "databse" (as deps.db), which nothing provides; did you mean "database" (src/graph.ts:6)? ("databse" is declared at src/tokens.ts:7)')
    expect(text).toContain('"ledger" depends on "orders" as deps.orders (src/graph.ts:21), which closes it')
  })

  it('a file that throws while the app loads is named by its TypeScript line', () => {
    expect(runs.load.code).toBe(1)
    expect(report(runs.load)).toContain('src/smtp.ts:4 threw Error: SMTP_HOST is not set')
  })

  it('files that import each other in a circle are named by their TypeScript paths and lines', () => {
    expect(runs.cycle.code).toBe(1)
    expect(report(runs.cycle)).toContain('src/cycle/ledger.ts:10 reads "orders" before src/cycle/orders.ts has finished loading')
    expect(report(runs.cycle)).toContain('src/cycle/orders.ts -> src/cycle/payments.ts -> src/cycle/ledger.ts -> src/cycle/orders.ts')
  })

  it('no report names a compiled file', () => {
    for (const outcome of Object.values(runs)) {
      expect(report(outcome)).toMatch(/src\/[\w/]+\.ts:\d+/)
      expect(report(outcome)).not.toMatch(/\.js:\d|dist\/(?!run-\d+\/(?:app|graph|notifier|cycle)\.js\b)/)
    }
  })
})
