/**
 * The documentation's examples, run (fx's docs/ex/), so that the docs never lie.
 *
 * - Every file in docs/examples/ is run here: its `main()` is called and what it returns is
 *   asserted on, or, for a service entry point, it is started as a process and sent signals.
 * - Every ```ts block in docs/*.md follows a marker naming the example it is copied from, and is
 *   identical to it: `<!-- example: docs/examples/scopes.ts -->` for the whole file (region
 *   markers left out), `<!-- example: docs/examples/scopes.ts#declare -->` for the lines between
 *   `// #region declare` and its `// #endregion`, dedented.
 * - A block after `<!-- output: docs/examples/cycle.ts#message -->` is what that example's
 *   `main()` returned (the `message` property of it; JSON for a non-string), with durations
 *   (`41.2 ms`) and the repository's path left out of the comparison. After `output-lines:`,
 *   the block's lines are some of the output's lines, in order (for output that also shows
 *   the kernel's own components, which change as the kernel grows).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as accessorExample from '../../../docs/examples/accessor.js'
import * as appEnv from '../../../docs/examples/app-env.js'
import * as allProblems from '../../../docs/examples/all-problems.js'
import * as captiveDependency from '../../../docs/examples/captive-dependency.js'
import * as checkAndGraph from '../../../docs/examples/check-and-graph.js'
import * as compileTimeCheck from '../../../docs/examples/compile-time-check.js'
import * as configEnv from '../../../docs/examples/config-env.js'
import * as configErrors from '../../../docs/examples/config-errors.js'
import * as configSecrets from '../../../docs/examples/config-secrets.js'
import * as configSources from '../../../docs/examples/config-sources.js'
import * as configValibot from '../../../docs/examples/config-valibot.js'
import * as configZod from '../../../docs/examples/config-zod.js'
import * as cycle from '../../../docs/examples/cycle.js'
import * as degraded from '../../../docs/examples/degraded.js'
import * as disposal from '../../../docs/examples/disposal.js'
import * as duplicateProvider from '../../../docs/examples/duplicate-provider.js'
import * as duplicateTokenName from '../../../docs/examples/duplicate-token-name.js'
import * as events from '../../../docs/examples/events.js'
import * as getVsResolve from '../../../docs/examples/get-vs-resolve.js'
import * as hooks from '../../../docs/examples/hooks.js'
import * as invalidProvider from '../../../docs/examples/invalid-provider.js'
import * as laziness from '../../../docs/examples/laziness.js'
import * as lifetimes from '../../../docs/examples/lifetimes.js'
import * as logging from '../../../docs/examples/logging.js'
import * as missingProvider from '../../../docs/examples/missing-provider.js'
import * as multi from '../../../docs/examples/multi.js'
import * as namedScopes from '../../../docs/examples/named-scopes.js'
import * as optionalExample from '../../../docs/examples/optional.js'
import * as overrides from '../../../docs/examples/overrides.js'
import * as providers from '../../../docs/examples/providers.js'
import * as retryExample from '../../../docs/examples/retry.js'
import * as rollback from '../../../docs/examples/rollback.js'
import * as scopes from '../../../docs/examples/scopes.js'
import * as startOrder from '../../../docs/examples/start-order.js'
import * as startTimeout from '../../../docs/examples/start-timeout.js'
import * as stop from '../../../docs/examples/stop.js'
import * as testing from '../../../docs/examples/testing.js'
import * as tokens from '../../../docs/examples/tokens.js'
import * as trace from '../../../docs/examples/trace.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const examplesDir = join(root, 'docs/examples')

/** Every example with a `main()`, by file name. */
const examples = {
  'accessor.ts': accessorExample,
  'all-problems.ts': allProblems,
  'app-env.ts': appEnv,
  'captive-dependency.ts': captiveDependency,
  'check-and-graph.ts': checkAndGraph,
  'compile-time-check.ts': compileTimeCheck,
  'config-env.ts': configEnv,
  'config-errors.ts': configErrors,
  'config-secrets.ts': configSecrets,
  'config-sources.ts': configSources,
  'config-valibot.ts': configValibot,
  'config-zod.ts': configZod,
  'cycle.ts': cycle,
  'degraded.ts': degraded,
  'disposal.ts': disposal,
  'duplicate-provider.ts': duplicateProvider,
  'duplicate-token-name.ts': duplicateTokenName,
  'events.ts': events,
  'get-vs-resolve.ts': getVsResolve,
  'hooks.ts': hooks,
  'invalid-provider.ts': invalidProvider,
  'laziness.ts': laziness,
  'lifetimes.ts': lifetimes,
  'logging.ts': logging,
  'missing-provider.ts': missingProvider,
  'multi.ts': multi,
  'named-scopes.ts': namedScopes,
  'optional.ts': optionalExample,
  'overrides.ts': overrides,
  'providers.ts': providers,
  'retry.ts': retryExample,
  'rollback.ts': rollback,
  'scopes.ts': scopes,
  'start-order.ts': startOrder,
  'start-timeout.ts': startTimeout,
  'stop.ts': stop,
  'testing.ts': testing,
  'tokens.ts': tokens,
  'trace.ts': trace,
} satisfies Record<string, { main: () => Promise<unknown> }>

type ExampleName = keyof typeof examples

/** Service entry points: they call run(app) at the top level, so they are started as processes. */
const processExamples = ['service.ts']

// Each main() runs once; the behaviour test and the docs' output blocks read the same result.
const results = new Map<string, Promise<unknown>>()
function result<K extends ExampleName>(name: K): ReturnType<(typeof examples)[K]['main']> {
  let pending = results.get(name)
  if (pending === undefined) {
    pending = examples[name].main()
    results.set(name, pending)
  }
  return pending as ReturnType<(typeof examples)[K]['main']>
}

// The examples run in an empty directory and environment, so that a developer's .env, config/
// or APP_ENV cannot change what they print; log lines are off unless an example captures them.
const saved = { cwd: process.cwd(), APP_ENV: process.env.APP_ENV, LOG_LEVEL: process.env.LOG_LEVEL }
beforeAll(() => {
  process.chdir(mkdtempSync(join(tmpdir(), 'plinth-docs-')))
  delete process.env.APP_ENV
  process.env.LOG_LEVEL = 'silent'
})
afterAll(() => {
  process.chdir(saved.cwd)
  for (const name of ['APP_ENV', 'LOG_LEVEL'] as const) {
    if (saved[name] === undefined) delete process.env[name]
    else process.env[name] = saved[name]
  }
})

describe('docs/container.md examples', () => {
  it('tokens.ts: a token resolves to its provider; an empty multi token to []', async () => {
    const { now, rules } = await result('tokens.ts')
    expect(now).toBeInstanceOf(Date)
    expect(rules).toEqual([])
  })

  it('providers.ts: value, create, class and async factories', async () => {
    const { order, dollars } = await result('providers.ts')
    expect(order).toEqual({ id: '1700000000000-1', item: 'teapot', at: 1_700_000_000_000 })
    expect(dollars).toBeCloseTo(11)
  })

  it('lifetimes.ts: a singleton is shared, a transient is new each time', async () => {
    expect(await result('lifetimes.ts')).toEqual({ sameSettings: true, sameBasket: false, sharedSettings: true })
  })

  it('scopes.ts: one instance per scope across awaits, disposed at its end; none outside', async () => {
    const { first, second, closed, outside } = await result('scopes.ts')
    expect(first.changes).toEqual(['order-1'])
    expect(second.changes).toEqual(['order-2'])
    expect(first.id).not.toBe(second.id)
    expect(closed.sort()).toEqual([first.id, second.id].sort())
    expect(outside).toContain('no "request" scope is active here')
  })

  it('named-scopes.ts: a request scope sees the session scope it runs in', async () => {
    const { seen, sessionRequests } = await result('named-scopes.ts')
    expect(seen).toEqual([
      { user: 'ada', number: 1 },
      { user: 'ada', number: 2 },
    ])
    expect(sessionRequests).toBe(2)
  })

  it('disposal.ts: scoped instances are disposed newest first, through dispose or Symbol.asyncDispose', async () => {
    expect(await result('disposal.ts')).toEqual(['query: insert into orders ...', 'transaction closed', 'connection released'])
  })

  it('optional.ts: an absent optional dependency is undefined', async () => {
    expect(await result('optional.ts')).toEqual({ without: 'computed', with: 'cached' })
  })

  it("accessor.ts: a singleton reaches each request's scoped instance through an accessor", async () => {
    expect(await result('accessor.ts')).toEqual(['ada: opened the invoice', 'grace: opened the invoice'])
  })

  it('multi.ts: a multi token gives every contribution in order, or none', async () => {
    expect(await result('multi.ts')).toEqual({ table: ['GET /health', 'POST /orders'], none: [] })
  })

  it('overrides.ts: overrides replace a token or a component, in an app and in a container', async () => {
    expect(await result('overrides.ts')).toEqual({ sent: ['ada@example.com: invoice of 2025-01-31'], replaced: true })
  })

  it('laziness.ts: only eager components and what they need are built at start', async () => {
    const { built, warning } = await result('laziness.ts')
    expect(built).toEqual(['database', 'http-server', 'report-renderer'])
    expect(warning).toMatch(/^"mailer" \(.*laziness\.ts:\d+\) has lifecycle hooks but no eager component needs it/)
  })

  it.each([
    ['missing-provider.ts', ['PLINTH_ERR_MISSING_PROVIDER', 'did you mean "database" (', 'missing-provider.ts:10)? ("databse" is declared at ']],
    ['captive-dependency.ts', ['PLINTH_ERR_CAPTIVE_DEPENDENCY', 'home-page (singleton) -> greeting (transient) -> current-user (scoped:request)']],
    ['duplicate-provider.ts', ['PLINTH_ERR_DUPLICATE_PROVIDER', '"mailer" is provided twice']],
    ['duplicate-token-name.ts', ['PLINTH_ERR_DUPLICATE_TOKEN_NAME', 'two different tokens are named "clock"']],
    ['invalid-provider.ts', ['PLINTH_ERR_INVALID_PROVIDER', 'a scoped provider cannot have a stop hook', 'a transient provider cannot be eager']],
  ] as const)('%s: reports the problem with its code and where it was declared', async (name, expected) => {
    const message = await result(name)
    for (const text of expected) expect(message).toContain(text)
    expect(message).toMatch(new RegExp(`docs/examples/${name.replace('.', '\\.')}:\\d+`))
  })

  it('cycle.ts: a cycle is printed whole; an accessor breaks it', async () => {
    const { message, fixed } = await result('cycle.ts')
    expect(message).toContain('dependency cycle: orders -> payments -> ledger -> orders')
    expect(fixed).toBe('charged order for teapot (function)')
  })

  it('all-problems.ts: every problem at once, in one error and from Container.validate', async () => {
    const { codes, report, described } = await result('all-problems.ts')
    expect([...codes].sort()).toEqual(['PLINTH_ERR_CAPTIVE_DEPENDENCY', 'PLINTH_ERR_DUPLICATE_PROVIDER', 'PLINTH_ERR_MISSING_PROVIDER'])
    expect(described).toContain(report)
    expect(described).toMatch(/^PLINTH_ERR_INVALID_GRAPH: the dependency graph has 3 problems/)
  })

  it('compile-time-check.ts: the graph a compile error stops fails validation at start', async () => {
    const { message, state } = await result('compile-time-check.ts')
    expect(message).toContain('"invoices"')
    expect(message).toContain('depends on "clock" (as deps.clock), which nothing provides')
    expect(state).toBe('failed')
  })

  it('get-vs-resolve.ts: get refuses an unbuilt async factory; resolve awaits it', async () => {
    const { refused, list, same } = await result('get-vs-resolve.ts')
    expect(refused).toMatch(/"database" \(.*\) has an async factory/)
    expect(list).toBe('select * from orders on postgres://localhost/orders')
    expect(same).toBe(true)
  })
})

describe('docs/lifecycle.md examples', () => {
  it('hooks.ts: starts dependencies first and stops in reverse', async () => {
    expect(await result('hooks.ts')).toEqual(['database connected', 'listening on 8000', 'server closed', 'database closed'])
  })

  it('start-order.ts: independent components start together; the ready line names the critical path', async () => {
    const { readyLine, criticalPath, duration } = await result('start-order.ts')
    expect(criticalPath).toEqual(['database', 'repository', 'api'])
    expect(readyLine).toMatch(/^ready in [\d.]+ ms; critical path: database \([\d.]+ ms\) -> repository/)
    // The critical path (100 ms), not the sum (200 ms), with room for a slow machine.
    expect(duration).toBeLessThan(180)
  })

  it('start-timeout.ts: a start past its deadline fails, its signal aborted', async () => {
    const { message, abortedWith } = await result('start-timeout.ts')
    expect(message).toMatch(/"search-index" \(.*start-timeout\.ts:\d+\) did not start within 50 ms/)
    expect(abortedWith).toContain('did not start within 50 ms')
  })

  it('retry.ts: a failing start is retried until it succeeds; so is the retry() helper', async () => {
    expect(await result('retry.ts')).toEqual({
      attempts: 3,
      failures: [
        { attempt: 1, willRetry: true },
        { attempt: 2, willRetry: true },
      ],
      connected: true,
      retries: 1,
    })
  })

  it('rollback.ts: a failed start stops what had started, in reverse', async () => {
    const { message, stopped, state, events: rollbackEvents } = await result('rollback.ts')
    expect(message).toContain('mailer: PLINTH_ERR_START_FAILED')
    expect(message).toContain('SMTP connection refused')
    expect(stopped).toEqual(['repository', 'database'])
    expect(state).toBe('failed')
    expect(rollbackEvents).toEqual(['rolling-back', 'rolled-back'])
  })

  it('degraded.ts: an optional component fails into a degraded app; a required dependent fails it', async () => {
    const { state, degraded: names, cacheError, price, strict } = await result('degraded.ts')
    expect([state, names, price]).toEqual(['degraded', ['cache'], 'computed'])
    expect(cacheError).toContain('ECONNREFUSED')
    expect(strict).toContain('"prices" needs "cache", which failed')
  })

  it('stop.ts: stops in reverse order; a stop past its deadline is given up on and reported', async () => {
    const { order, failures, unfinished, state } = await result('stop.ts')
    expect(order).toEqual(['http-server', 'worker gave up', 'database'])
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatch(/^worker: PlinthError: "worker" \(.*\) did not stop within 100 ms/)
    expect(unfinished).toEqual([])
    expect(state).toBe('stopped')
  })

  it('events.ts: subscribers see typed events; the timeline keeps them all', async () => {
    const { started, timeline, lines } = await result('events.ts')
    expect(started).toEqual(['database', 'api'])
    expect(timeline.at(-1)).toBe('stopped')
    expect(timeline).toContain('ready')
    expect(lines[0]).toBe('database: starting, attempt 1')
    expect(lines).toContain('api: stopped')
  })

  it('trace.ts: writes a Chrome trace with a span per phase and component', async () => {
    const spans = await result('trace.ts')
    const names = spans.map((span) => span.name)
    expect(names).toEqual(expect.arrayContaining(['validate', 'start', 'start database', 'start cache', 'start api', 'stop database', 'shutdown']))
    // database and cache started at the same time, so they are on different lanes.
    const lane = (name: string) => spans.find((span) => span.name === name)?.tid
    expect(lane('start database')).not.toBe(lane('start cache'))
  })

  it('check-and-graph.ts: check validates without starting; graph prints lifetimes and waves', async () => {
    const { checked, graphed, check, graph, err } = await result('check-and-graph.ts')
    expect([checked, graphed]).toEqual([0, 0])
    expect(err.filter((line) => line.includes('docs/examples'))).toEqual([])
    expect(check).toMatch(/^ok: configuration valid \(development\); \d+ providers, graph valid$/)
    expect(graph).toContain('flowchart LR')
    expect(graph).toMatch(/http-server<br\/>singleton · wave \d/)
    expect(graph).toContain('current-user<br/>scoped:request · lazy')
  })

  it('testing.ts: a test boots the app with overrides and reads its events', async () => {
    expect(await result('testing.ts')).toEqual({ sent: ['ada@example.com'], started: expect.arrayContaining(['mailer', 'users', 'signup']) as unknown })
  })
})

describe('docs/configuration.md examples', () => {
  it('config-zod.ts: the validated value reaches components, typed; env and flags override defaults', async () => {
    const { address, value } = await result('config-zod.ts')
    expect(address).toBe('http://0.0.0.0:8080')
    expect(value).toEqual({ http: { host: '0.0.0.0', port: 8080 }, database: { url: 'file:./data/orders.db', poolSize: 5 }, signups: true })
  })

  it('config-valibot.ts: valibot works; keys it alone knows get no automatic env name', async () => {
    expect(await result('config-valibot.ts')).toEqual({ http: { port: 9000 }, region: 'eu-west-1' })
  })

  it('config-sources.ts: defaults < config/<APP_ENV> file < .env < env < flags, per key', async () => {
    const { appEnv, value } = await result('config-sources.ts')
    expect(appEnv).toBe('production')
    expect(value).toEqual({
      http: { host: '0.0.0.0', port: 9000 },
      database: { url: 'postgres://db/orders', poolSize: 10 },
      logLevel: 'warn',
    })
  })

  it('app-env.ts: an unknown APP_ENV is refused, naming where it came from', async () => {
    expect(await result('app-env.ts')).toMatch(/^PLINTH_ERR_INVALID_CONFIG: APP_ENV "prod" \(from env APP_ENV\) is not an environment/)
  })

  it('config-env.ts: explicit and automatic env names, converted to the key types', async () => {
    const { value, sources } = await result('config-env.ts')
    expect(value).toEqual({
      http: { port: 8080 },
      database: { url: 'postgres://db/orders', maxConnections: 20 },
      cors: { origins: ['https://a.example', 'https://b.example'] },
      debug: true,
    })
    expect(sources).toMatchObject({ 'http.port': 'env PORT', 'database.maxConnections': 'env DATABASE_MAX_CONNECTIONS' })
  })

  it('config-errors.ts: every problem at once, secrets hidden, exit code 78', async () => {
    const { described, exitCode } = await result('config-errors.ts')
    expect(exitCode).toBe(78)
    expect(described).toContain('has 4 problems')
    expect(described).not.toContain('hunter2')
  })

  it('config-secrets.ts: secrets are redacted in redacted() and in log lines', async () => {
    const { printable, logged, value } = await result('config-secrets.ts')
    expect(printable).toEqual({
      database: { url: '[redacted]', password: '[redacted]' },
      payments: { endpoint: 'https://pay.example', apiKey: '[redacted]' },
      sentryDsn: '[redacted]',
    })
    expect(value).toMatchObject({ payments: { apiKey: 'sk_live_123456' } }) // components still get the secret
    expect(logged).toContain('"payments":{"endpoint":"https://pay.example","apiKey":"[redacted]"},"msg":"payments client ready"}')
    expect(logged).not.toContain('sk_live_123456')
  })

  it('logging.ts: component loggers name their component; redaction and level apply', async () => {
    const records = await result('logging.ts')
    expect(records.find((record) => record.msg === 'mail sent')).toMatchObject({ name: 'notifications', component: 'mailer', to: 'ada@example.com' })
    expect(records.find((record) => record.msg === 'file read')).toMatchObject({ name: 'import-job', component: 'csv-reader', rows: 120 })
    expect(records.some((record) => record.level === 20)).toBe(true) // debug lines, as configured
  })
})

describe('service.ts, run as a process', () => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

  function launch() {
    const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, join(examplesDir, 'service.ts')], {
      cwd: mkdtempSync(join(tmpdir(), 'plinth-docs-service-')),
      env: { PATH: process.env.PATH, APP_ENV: 'development', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes('ready in')) resolve()
      })
      child.on('exit', () => reject(new Error(`exited before ready:\n${stdout}${stderr}`)))
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const records = () => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; time: number })
    return { child, ready, exited, records, stderr: () => stderr }
  }

  it('on SIGTERM waits the drain delay, stops in reverse dependency order and exits 0', async () => {
    const service = launch()
    await service.ready
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)
    const records = service.records()
    const at = (msg: string) => records.find((record) => record.msg.startsWith(msg))?.time ?? Number.NaN
    const order = ['shutting down (SIGTERM)', 'in-flight requests finished', 'database closed', 'stopped in'].map(at)
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(order[1]! - order[0]!).toBeGreaterThanOrEqual(450) // the 500 ms drain delay
    // The drain is said, so that the wait before anything stops is not a silent one.
    expect(records.find((record) => record.msg.startsWith('shutting down'))?.msg).toMatch(/readiness answers 503 and the servers keep answering for 500\.0 ms .*shutdown\.drainDelay/)
  })

  it('on a second signal exits 130 at once, naming what was still running', async () => {
    const service = launch()
    await service.ready
    service.child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 100)) // inside the drain delay
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(130)
    expect(service.stderr()).toMatch(/SIGTERM again: exiting now; still running: database, http-server/)
  })
})

describe('the docs and their examples', () => {
  // errors.md is generated from the error catalogue (npm run docs:errors), and checked by its own test.
  const generated = new Set(['errors.md'])
  const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md') && !generated.has(name))
  const blocks = docs.flatMap((doc) => blocksOf(doc))

  it('run every example: each file in docs/examples/ is in this test', () => {
    const files = readdirSync(examplesDir).filter((name) => name.endsWith('.ts'))
    expect(files.sort()).toEqual([...Object.keys(examples), ...processExamples].sort())
  })

  it('show every example somewhere', () => {
    const shown = new Set(blocks.flatMap((block) => (block.marker?.kind === 'example' ? [block.marker.file] : [])))
    const files = readdirSync(examplesDir).filter((name) => name.endsWith('.ts'))
    expect(files.filter((file) => !shown.has(`docs/examples/${file}`))).toEqual([])
  })

  it.each(blocks.filter((block) => block.lang === 'ts' || block.lang === 'typescript').map((block) => [block.where, block] as const))(
    'the ts block at %s is copied from an example',
    (where, block) => {
      expect(block.marker?.kind, `${where}: a \`\`\`ts block must follow <!-- example: docs/examples/FILE.ts#region -->`).toBe('example')
      const { file, part } = block.marker!
      expect(block.body, `${where} differs from ${file}${part ? `#${part}` : ''}; copy the example's text into the doc`).toBe(excerpt(file, part))
    },
  )

  it.each(blocks.filter((block) => block.marker?.kind.startsWith('output')).map((block) => [block.where, block] as const))(
    'the output block at %s is what its example returns',
    async (where, block) => {
      const { kind, file, part } = block.marker!
      const name = file.replace('docs/examples/', '')
      expect(name in examples, `${where}: ${file} is not an example with a main()`).toBe(true)
      const value: unknown = await result(name as ExampleName)
      const output = part === undefined ? value : (value as Record<string, unknown>)[part]
      const text = normalise(typeof output === 'string' ? output : JSON.stringify(output, null, 2))
      const what = `${where} differs from what ${file}${part ? ` returns as ${part}` : "'s main() returns"}`
      if (kind === 'output') {
        expect(normalise(block.body), what).toBe(text)
        return
      }
      // Each line of the block, found in the output after the one before it.
      const lines = text.split('\n')
      let from = 0
      for (const line of normalise(block.body).split('\n')) {
        const found = lines.indexOf(line, from)
        expect(found, `${what}: "${line}" is not among its lines (in this order):\n${text}`).toBeGreaterThanOrEqual(0)
        from = found + 1
      }
    },
  )

  it('put every marker right before a fenced block of its kind', () => {
    for (const doc of docs) {
      const lines = readFileSync(join(root, 'docs', doc), 'utf8').split('\n')
      lines.forEach((line, index) => {
        const marker = markerOf(line)
        if (!marker) return
        const next = lines.slice(index + 1).find((l) => l.trim() !== '') ?? ''
        const expected = marker.kind === 'example' ? /^```(ts|typescript)$/ : /^```(text|mermaid)?$/
        expect(next, `docs/${doc}:${index + 1}: ${line.trim()} must be followed by a fenced ${marker.kind === 'example' ? 'ts' : 'text'} block`).toMatch(expected)
      })
    }
  })
})

interface Marker {
  readonly kind: 'example' | 'output' | 'output-lines'
  readonly file: string
  readonly part: string | undefined
}

interface Block {
  /** `docs/container.md:42`, the line of the opening fence. */
  readonly where: string
  readonly lang: string
  readonly body: string
  readonly marker: Marker | undefined
}

function markerOf(line: string): Marker | undefined {
  const match = /^<!-- (example|output|output-lines): (docs\/examples\/[\w.-]+\.ts)(?:#([\w-]+))? -->$/.exec(line.trim())
  if (!match) return undefined
  return { kind: match[1] as Marker['kind'], file: match[2]!, part: match[3] }
}

/** The fenced blocks of a doc, each with the marker on the nearest non-blank line above it. */
function blocksOf(doc: string): Block[] {
  const lines = readFileSync(join(root, 'docs', doc), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!)
    let above = start - 1
    while (above >= 0 && lines[above]!.trim() === '') above--
    blocks.push({ where: `docs/${doc}:${start + 1}`, lang: open[1]!, body: body.join('\n'), marker: above >= 0 ? markerOf(lines[above]!) : undefined })
  }
  return blocks
}

const regionMarker = /^\s*\/\/ #(region|endregion)\b\s*(\S*)/

/** The whole example without its region markers, or the lines of one region, dedented. */
function excerpt(file: string, region: string | undefined): string {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  if (region === undefined) return dedent(lines.filter((line) => !regionMarker.test(line)))
  const start = lines.findIndex((line) => {
    const match = regionMarker.exec(line)
    return match?.[1] === 'region' && match[2] === region
  })
  if (start === -1) throw new Error(`${file} has no "// #region ${region}"`)
  const out: string[] = []
  let depth = 0
  for (const line of lines.slice(start + 1)) {
    const match = regionMarker.exec(line)
    if (match?.[1] === 'region') depth++
    else if (match?.[1] === 'endregion' && depth-- === 0) return dedent(out)
    else if (!match) out.push(line)
  }
  throw new Error(`"// #region ${region}" of ${file} has no "// #endregion"`)
}

function dedent(lines: string[]): string {
  const indent = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)![0].length))
  return lines
    .map((line) => line.slice(Number.isFinite(indent) ? indent : 0).trimEnd())
    .join('\n')
    .replace(/^\n+|\n+$/g, '')
}

/** Leaves out what changes from run to run: durations, and where the repository is checked out. */
function normalise(text: string): string {
  return text
    .replaceAll(root, '')
    .replace(/\d+\.\d+ ms/g, '<duration> ms')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim()
}
