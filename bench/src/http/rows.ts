import { load, median, placement, startServer, type ServerProcess } from './load.js'
import type { ContenderName } from './contenders.js'

export interface HttpBenchOptions {
  /** Seconds per measured run. Default 5. */
  readonly duration: number
  /** Measured runs per contender, interleaved. Default 5. */
  readonly rounds: number
  /** Concurrent keep-alive connections of the load generator. Default 50. */
  readonly connections: number
}

export const defaultHttpOptions: HttpBenchOptions = { duration: 5, rounds: 5, connections: 50 }
export const quickHttpOptions: HttpBenchOptions = { duration: 2, rounds: 3, connections: 50 }

const labels: Record<string, string> = {
  fastify: 'bare Fastify',
  'fastify-logged': 'Fastify with its own request logging (pino)',
  plinth: 'Plinth as shipped (+ 3 security headers)',
  'plinth-no-headers': 'Plinth: request ids, access log, metrics',
  'plinth-quiet': 'Plinth as shipped, access log off',
  'plinth-scoped': 'Plinth as shipped, a request scope per request',
  nest: 'NestJS on Fastify',
}

const pad = (text: string, width: number) => text.padEnd(width)
const num = (value: number) => Math.round(value).toLocaleString('en-US')

/**
 * Row 6: requests per second on a plain JSON route, Plinth against bare Fastify and NestJS on
 * its Fastify adapter. Each server runs in its own process; autocannon drives one at a time, in
 * a rotating order, round after round, and the figure is the median run.
 */
export async function jsonRouteRow(options: HttpBenchOptions = defaultHttpOptions): Promise<string> {
  const names: ContenderName[] = ['fastify', 'plinth-no-headers', 'plinth', 'plinth-quiet', 'plinth-scoped', 'fastify-logged', 'nest']
  const servers: ServerProcess[] = []
  try {
    for (const name of names) servers.push(await startServer(name))
    for (const server of servers) await load(server, { path: '/json', connections: options.connections, duration: Math.min(3, options.duration) })
    const runs = new Map<ContenderName, { rps: number[]; p99: number[]; cpu: number[]; errors: number }>(names.map((n) => [n, { rps: [], p99: [], cpu: [], errors: 0 }]))
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(i + round) % servers.length]!
        const result = await load(server, { path: '/json', connections: options.connections, duration: options.duration })
        const run = runs.get(server.name)!
        run.rps.push(result.requests.average)
        run.p99.push(result.latency.p99)
        if (result.cpuPerRequest !== undefined) run.cpu.push(result.cpuPerRequest)
        run.errors += result.errors + result.non2xx
      }
    }
    const base = median(runs.get('fastify')!.rps)
    const baseCpu = runs.get('fastify')!.cpu.length > 0 ? median(runs.get('fastify')!.cpu) : undefined
    const lines = [
      '',
      `6. HTTP: a plain JSON route (GET /json), ${options.connections} keep-alive connections, median of ${options.rounds} interleaved ${options.duration} s runs, each server in its own process, ${placement}`,
      `   ${pad('server', 50)} ${pad('req/s', 10)} ${pad('vs Fastify', 11)} ${pad('p99 ms', 7)} ${pad('CPU µs/req', 11)} ${pad('Fastify/it', 11)} failed`,
    ]
    for (const name of names) {
      const run = runs.get(name)!
      const rps = median(run.rps)
      const cpu = run.cpu.length > 0 ? median(run.cpu) : undefined
      // Fastify's CPU per request over this server's: the share of Fastify's throughput it would reach on a dedicated core.
      const cpuShare = cpu !== undefined && baseCpu !== undefined ? `${((baseCpu / cpu) * 100).toFixed(1)}%` : 'n/a'
      lines.push(
        `   ${pad(labels[name] ?? name, 50)} ${pad(num(rps), 10)} ${pad(`${((rps / base) * 100).toFixed(1)}%`, 11)} ${pad(median(run.p99).toFixed(1), 7)} ${pad(cpu === undefined ? 'n/a' : cpu.toFixed(1), 11)} ${pad(cpuShare, 11)} ${run.errors}`,
      )
    }
    return lines.join('\n')
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
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
      const result = await load(server, { path: '/health/ready', connections, duration: options.duration })
      const statuses = Object.keys(result.statusCodeStats).join(',')
      lines.push(
        `   ${pad(String(connections), 12)} ${pad(num(result.requests.total), 10)} ${pad(statuses, 8)} ${pad(result.latency.p50.toFixed(2), 7)} ${pad(result.latency.p99.toFixed(2), 7)} ${pad(result.latency.max.toFixed(2), 7)}`,
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
  return `${await jsonRouteRow(options)}\n${await readinessRow(options)}`
}
