import { load, median, placement, startServer, type ServerProcess } from './load.js'
import type { ContenderName } from './contenders.js'

export interface HttpBenchOptions {
  /** Seconds per measured run. Default 3. */
  readonly duration: number
  /** Rounds: each contender runs once per round, right after a run of bare Fastify. Default 7. */
  readonly rounds: number
  /** Concurrent keep-alive connections of the load generator. Default 50. */
  readonly connections: number
  /** Row 6's contenders besides bare Fastify. Default: all of them. */
  readonly contenders?: readonly ContenderName[]
}

export const defaultHttpOptions: HttpBenchOptions = { duration: 3, rounds: 7, connections: 50 }
export const quickHttpOptions: HttpBenchOptions = { duration: 2, rounds: 3, connections: 50 }

const labels: Record<string, string> = {
  fastify: 'bare Fastify',
  'fastify-logged': 'Fastify with its own request logging (pino)',
  plinth: 'Plinth as shipped (+ 3 security headers)',
  'plinth-no-headers': 'Plinth: request ids, access log, metrics',
  'plinth-async-log': 'The same, the log written asynchronously',
  'plinth-quiet': 'Plinth as shipped, access log off',
  'plinth-scoped': 'Plinth as shipped, a request scope per request',
  nest: 'NestJS on Fastify',
}

/** Rows 6 and 6b's contenders besides bare Fastify, unless chosen. */
const rowContenders: readonly ContenderName[] = ['plinth-no-headers', 'plinth', 'plinth-quiet', 'plinth-scoped', 'fastify-logged', 'nest']

const pad = (text: string, width: number) => text.padEnd(width)
/** The lowest and highest of some ratios, as percentages: 85-104%. */
const rangeText = (values: readonly number[]) => (values.length === 0 ? 'n/a' : `${Math.round(Math.min(...values) * 100)}-${Math.round(Math.max(...values) * 100)}%`)
const num = (value: number) => Math.round(value).toLocaleString('en-US')

/**
 * Row 6: requests per second on a plain JSON route, Plinth against bare Fastify and NestJS on
 * its Fastify adapter. Each server runs in its own process. Every run of a contender comes right
 * after a run of bare Fastify, and its ratio is taken against that run: this machine's speed
 * drifts by more over a minute than the differences measured here, and a pair of runs seconds
 * apart shares the drift. The figures are medians over the rounds, contenders in a rotating order.
 */
export async function jsonRouteRow(options: HttpBenchOptions = defaultHttpOptions): Promise<string> {
  // Bare Fastify is every run's pair here; against itself it is measured in row 6b.
  const names = (options.contenders ?? rowContenders).filter((name) => name !== 'fastify')
  if (names.length === 0) return '\n6. HTTP: bare Fastify against itself is row 6b\'s to measure'
  const servers = new Map<ContenderName, ServerProcess>()
  try {
    for (const name of ['fastify' as const, ...names]) servers.set(name, await startServer(name))
    const run = (name: ContenderName, duration = options.duration) => load(servers.get(name)!, { path: '/json', connections: options.connections, duration })
    for (const name of servers.keys()) await run(name, Math.min(3, options.duration))
    const figures = new Map(names.map((n) => [n, { rps: [] as number[], ratio: [] as number[], cpuRatio: [] as number[], p99: [] as number[], cpu: [] as number[], errors: 0 }]))
    const fastify = { rps: [] as number[], p99: [] as number[], cpu: [] as number[], errors: 0 }
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length]!
        const base = await run('fastify')
        const result = await run(name)
        const f = figures.get(name)!
        f.rps.push(result.requestsPerSecond)
        f.ratio.push(result.requestsPerSecond / base.requestsPerSecond)
        f.p99.push(result.p99)
        if (result.cpuPerRequest !== undefined && base.cpuPerRequest !== undefined) {
          f.cpu.push(result.cpuPerRequest)
          f.cpuRatio.push(base.cpuPerRequest / result.cpuPerRequest)
        }
        f.errors += result.errors + result.non2xx
        fastify.rps.push(base.requestsPerSecond)
        fastify.p99.push(base.p99)
        if (base.cpuPerRequest !== undefined) fastify.cpu.push(base.cpuPerRequest)
        fastify.errors += base.errors + base.non2xx
      }
    }
    const percent = (values: readonly number[]) => (values.length === 0 ? 'n/a' : `${(median(values) * 100).toFixed(1)}%`)
    const cpuText = (values: readonly number[]) => (values.length === 0 ? 'n/a' : median(values).toFixed(1))
    const lines = [
      '',
      `6. HTTP: a plain JSON route (GET /json), ${options.connections} keep-alive connections, ${options.rounds} rounds of ${options.duration} s runs, each run right after one of bare Fastify; each server in its own process, ${placement}`,
      `   ${pad('server', 50)} ${pad('req/s', 10)} ${pad('vs Fastify', 11)} ${pad('range', 9)} ${pad('p99 ms', 7)} ${pad('CPU µs/req', 11)} ${pad('Fastify/it', 11)} failed`,
      `   ${pad(labels.fastify!, 50)} ${pad(num(median(fastify.rps)), 10)} ${pad('100.0%', 11)} ${pad('', 9)} ${pad(median(fastify.p99).toFixed(1), 7)} ${pad(cpuText(fastify.cpu), 11)} ${pad('100.0%', 11)} ${fastify.errors}`,
    ]
    for (const name of names) {
      const f = figures.get(name)!
      // Fastify's CPU per request over this server's: the share of Fastify's throughput it would reach on a dedicated core.
      lines.push(
        `   ${pad(labels[name] ?? name, 50)} ${pad(num(median(f.rps)), 10)} ${pad(percent(f.ratio), 11)} ${pad(rangeText(f.ratio), 9)} ${pad(median(f.p99).toFixed(1), 7)} ${pad(cpuText(f.cpu), 11)} ${pad(percent(f.cpuRatio), 11)} ${f.errors}`,
      )
    }
    lines.push('   "vs Fastify" and "Fastify/it": medians of the ratios to the paired Fastify run (requests per second; CPU time per request); "range": the lowest and highest round')
    return lines.join('\n')
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()))
  }
}

/**
 * Row 6b: the same contenders as row 6, each running at the same time as bare Fastify, both
 * servers on the one CPU they are pinned to and a load generator each (half the connections)
 * on the other. The scheduler gives the two servers equal shares of the CPU, so the ratio of
 * their requests per second is the ratio of what a request costs each, and whatever slows the
 * machine slows both at that moment: rounds agree within a few percent, where the paired runs
 * of row 6 spread over tens (bare Fastify against itself: 98.5-102.8%).
 */
export async function sharedCoreRow(options: HttpBenchOptions = defaultHttpOptions): Promise<string> {
  const names: readonly ContenderName[] = options.contenders ?? rowContenders
  const half = { path: '/json', connections: Math.max(1, options.connections >> 1), duration: options.duration }
  const lines = [
    '',
    `6b. HTTP: the same, each contender at the same time as bare Fastify, both servers on one CPU, ${half.connections} connections each, ${options.rounds} rounds of ${options.duration} s`,
    `   ${pad('server', 50)} ${pad('req/s', 10)} ${pad('vs Fastify', 11)} ${pad('range', 9)} failed`,
  ]
  for (const name of names) {
    const fastify = await startServer('fastify')
    let contender: ServerProcess | undefined
    try {
      contender = await startServer(name)
      await Promise.all([load(fastify, { ...half, duration: Math.min(3, options.duration) }), load(contender, { ...half, duration: Math.min(3, options.duration) })])
      const ratios: number[] = []
      const rps: number[] = []
      let errors = 0
      for (let round = 0; round < options.rounds; round++) {
        const [base, result] = await Promise.all([load(fastify, half), load(contender, half)])
        ratios.push(result.requestsPerSecond / base.requestsPerSecond)
        rps.push(result.requestsPerSecond)
        errors += result.errors + result.non2xx + base.errors + base.non2xx
      }
      lines.push(`   ${pad(labels[name] ?? name, 50)} ${pad(num(median(rps)), 10)} ${pad(`${(median(ratios) * 100).toFixed(1)}%`, 11)} ${pad(rangeText(ratios), 9)} ${errors}`)
    } finally {
      await Promise.all([fastify.stop(), contender?.stop()])
    }
  }
  lines.push('   "vs Fastify": median of the rounds\' ratios; "req/s": the contender\'s, with half the CPU')
  return lines.join('\n')
}

/**
 * Row 7: readiness probe latency while a critical check hangs. The probe answers from the
 * health registry's cache, so a dependency that never answers must not slow it: p99 target
 * under 5 ms. Measured as an orchestrator probes (one connection), and under 10 at once.
 */
export async function readinessRow(options: HttpBenchOptions = defaultHttpOptions): Promise<string> {
  const server = await startServer('plinth-hanging-check')
  try {
    const report = await waitForPending(server.url)
    const lines = [
      '',
      `7. HTTP: GET /health/ready while the critical check "hanging" has been pending for ${Math.round(report)} ms (it never answers), ${options.duration} s per run`,
      `   ${pad('connections', 12)} ${pad('requests', 10)} ${pad('status', 8)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('max ms', 7)}`,
    ]
    for (const connections of [1, 10]) {
      // autocannon: it tells the status codes, and at one or ten connections the client does not set the pace.
      const result = await load(server, { path: '/health/ready', connections, duration: options.duration, generator: 'autocannon' })
      const statuses = (result.statuses ?? []).join(',')
      lines.push(
        `   ${pad(String(connections), 12)} ${pad(num(result.total), 10)} ${pad(statuses, 8)} ${pad(result.p50.toFixed(2), 7)} ${pad(result.p99.toFixed(2), 7)} ${pad(result.max.toFixed(2), 7)}`,
      )
    }
    const still = await waitForPending(server.url)
    lines.push(`   the check was still pending at the end (${Math.round(still)} ms): every answer came from the cache`)
    return lines.join('\n')
  } finally {
    await server.stop()
  }
}

/** Waits until /health shows the hanging check in flight; returns for how long it has been. */
async function waitForPending(url: string): Promise<number> {
  const deadline = performance.now() + 10_000
  for (;;) {
    const report = (await (await fetch(`${url}/health`)).json()) as { checks: { name: string; pendingFor?: number }[] }
    const pending = report.checks.find((c) => c.name === 'hanging')?.pendingFor
    if (pending !== undefined) return pending
    if (performance.now() > deadline) throw new Error(`the hanging check never showed as pending: ${JSON.stringify(report)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Both HTTP rows, as bench/src/run.ts prints them. */
export async function httpRows(options: HttpBenchOptions = defaultHttpOptions): Promise<string> {
  return `${await jsonRouteRow(options)}\n${await sharedCoreRow(options)}\n${await readinessRow(options)}`
}
