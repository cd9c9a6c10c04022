import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import type { ContenderName } from './contenders.js'

const execFileAsync = promisify(execFile)

export interface ServerProcess {
  readonly name: ContenderName
  readonly url: string
  /** CPU time the server process has used, in microseconds (Linux /proc; undefined elsewhere). */
  cpu(): number | undefined
  stop(): Promise<void>
}

// /proc/<pid>/stat counts in clock ticks, 100 a second on Linux.
const TICK_MICROS = 10_000

function cpuOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS
  } catch {
    return undefined
  }
}

/** Whether a command runs here. */
function runs(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Whether servers and the load generator get a CPU each: servers on CPU 0, wrk on CPU 1, with
 * taskset, on Linux machines that have it and two CPUs or more: left to the scheduler, the two
 * moved between cores, which moved a server's figure by more than the differences measured.
 * (What is left, this machine's own drift, the HTTP row meets by pairing runs; see rows.ts.)
 */
const pinned = process.platform === 'linux' && cpus().length >= 2 && process.env.PLINTH_BENCH_PIN !== '0' && runs('taskset', ['-c', '0', 'true'])

/**
 * wrk (Debian's package `wrk`) drives the throughput row when it is installed: a C load
 * generator spends a fraction of what autocannon, in JavaScript, spends per request, so that the
 * server under test rather than the client sets the pace; without it, autocannon does.
 */
const wrkInstalled = process.env.PLINTH_BENCH_WRK !== '0' && runs('sh', ['-c', 'command -v wrk'])

/** How the HTTP rows load and place their processes, for the report. */
export const placement = `${wrkInstalled ? 'wrk' : 'autocannon'} as the load generator${pinned ? (wrkInstalled ? ', servers pinned to CPU 0 and wrk to CPU 1' : ', servers pinned to CPU 0') : ''}`

/**
 * Starts a contender in a child process: from the compiled bench (`node bench/dist/http/run.js`)
 * or, when this file runs through tsx, its entry through tsx too. Either way @plinth/core and
 * @plinth/http load compiled (build them first: `npx tsc -b packages/http`), as in production:
 * tsx's transform wraps every closure in a naming helper, which costs a Plinth request
 * microseconds that Fastify, plain JavaScript, never pays. PLINTH_BENCH_SOURCE=1 loads the
 * sources instead.
 */
export async function startServer(name: ContenderName): Promise<ServerProcess> {
  const fromSource = import.meta.url.endsWith('.ts')
  const entry = fileURLToPath(new URL(fromSource ? './server.ts' : './server.js', import.meta.url))
  const conditions = process.env.PLINTH_BENCH_SOURCE === '1' ? ['--conditions=@plinth/source'] : []
  const args = fromSource ? [...conditions, '--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, entry, name] : [entry, name]
  const [command, commandArgs] = pinned ? ['taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args]
  // taskset execs node in its place, so the child's pid is the server's.
  const child: ChildProcess = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, APP_ENV: 'production' } })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /LISTENING (\S+)/.exec(output)
      if (match) resolve(match[1]!)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening:\n${output}`)))
  })
  return {
    name,
    url,
    cpu: () => cpuOf(child.pid),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

export interface LoadOptions {
  readonly path: string
  readonly connections: number
  readonly duration: number
  readonly pipelining?: number
}

/** One run's figures, whichever load generator made it. */
export interface LoadResult {
  readonly requestsPerSecond: number
  readonly total: number
  /** Latency percentiles and maximum, in milliseconds. */
  readonly p50: number
  readonly p99: number
  readonly max: number
  /** Connection errors and timeouts, and responses outside 2xx. */
  readonly errors: number
  readonly non2xx: number
  /** The status codes seen, when the load generator tells them. */
  readonly statuses: readonly string[] | undefined
  /** CPU time the server spent per request, in microseconds (Linux only). */
  readonly cpuPerRequest: number | undefined
}

/**
 * One run against a server, with the server's CPU time per request: on a shared machine
 * requests per second move with the neighbours' load, CPU per request much less. `generator`
 * picks wrk when it is installed (the default for throughput), or autocannon.
 */
export async function load(server: ServerProcess, options: LoadOptions & { generator?: 'best' | 'autocannon' }): Promise<LoadResult> {
  const before = server.cpu()
  const figures = options.generator !== 'autocannon' && wrkInstalled ? await runWrk(server, options) : await runAutocannon(server, options)
  const after = server.cpu()
  const cpuPerRequest = before === undefined || after === undefined || figures.total === 0 ? undefined : (after - before) / figures.total
  return { ...figures, cpuPerRequest }
}

async function runAutocannon(server: ServerProcess, options: LoadOptions): Promise<Omit<LoadResult, 'cpuPerRequest'>> {
  const result = await autocannon({ url: `${server.url}${options.path}`, connections: options.connections, duration: options.duration, pipelining: options.pipelining ?? 1 })
  return {
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statuses: Object.keys(result.statusCodeStats),
  }
}

async function runWrk(server: ServerProcess, options: LoadOptions): Promise<Omit<LoadResult, 'cpuPerRequest'>> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.duration}s`, '--latency', `${server.url}${options.path}`]
  const { stdout: output } = await execFileAsync(pinned ? 'taskset' : 'wrk', pinned ? ['-c', '1', 'wrk', ...args] : args, { encoding: 'utf8' })
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0)
  // wrk prints latencies with their unit: 812.00us, 1.20ms, 2.01s.
  const ms = (pattern: RegExp) => {
    const match = pattern.exec(output)
    if (!match) return Number.NaN
    const scale: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }
    return Number(match[1]) * scale[match[2]!]!
  }
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    total: number(/(\d+) requests in/),
    p50: ms(/50%\s+([\d.]+)(us|ms|s|m)\b/),
    p99: ms(/99%\s+([\d.]+)(us|ms|s|m)\b/),
    max: ms(/Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m)\b/),
    errors: socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    non2xx: number(/Non-2xx or 3xx responses:\s+(\d+)/),
    statuses: undefined,
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
