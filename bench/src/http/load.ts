import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import autocannon, { type Result } from 'autocannon'
import type { ContenderName } from './contenders.js'

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

/**
 * Whether servers and the load generator get a CPU each: servers on CPU 0, this process (and
 * autocannon in it) on CPU 1, with taskset, on Linux machines that have it and two CPUs or more.
 * Left to the scheduler, the two moved between cores and the same server's figure changed by
 * 5% and more between identical runs; pinned, by about 1%.
 */
const pinned = ((): boolean => {
  if (process.platform !== 'linux' || cpus().length < 2 || process.env.PLINTH_BENCH_PIN === '0') return false
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** How the HTTP rows place their processes, for the report. */
export const placement = pinned ? 'servers pinned to CPU 0, the load generator to CPU 1' : 'processes placed by the scheduler'

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

/**
 * One autocannon run against a server, with the server's CPU time per request: on a shared
 * machine requests per second move with the neighbours' load, CPU per request much less.
 */
export async function load(server: ServerProcess, options: LoadOptions): Promise<Result & { cpuPerRequest: number | undefined }> {
  const before = server.cpu()
  const result = await autocannon({ url: `${server.url}${options.path}`, connections: options.connections, duration: options.duration, pipelining: options.pipelining ?? 1 })
  const after = server.cpu()
  const cpuPerRequest = before === undefined || after === undefined || result.requests.total === 0 ? undefined : (after - before) / result.requests.total
  return { ...result, cpuPerRequest }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
