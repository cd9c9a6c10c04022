import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { median } from '../http/load.js'

interface Entry {
  readonly script: string
  /** A line that says the process is ready. */
  readonly ready: RegExp
  readonly env: NodeJS.ProcessEnv
}

interface Timing {
  /** Milliseconds from spawn to the ready line. */
  readonly ms: number
  /** CPU time the process had used by then (user + system, from /proc), or undefined off Linux. */
  readonly cpuMs: number | undefined
}

/** CPU milliseconds a process has used, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms). */
function cpuOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/** Spawns `node <script>`, times it to its ready line, then stops it (SIGTERM) and waits for it to exit. */
function timeToReady(entry: Entry): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const began = performance.now()
    const child = spawn(process.execPath, [entry.script], { env: entry.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let timing: Timing | undefined
    const read = (chunk: Buffer) => {
      if (timing) return
      output += chunk.toString()
      if (!entry.ready.test(output)) return
      timing = { ms: performance.now() - began, cpuMs: cpuOf(child.pid!) }
      child.kill('SIGTERM')
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.once('exit', (code) => (timing ? resolve(timing) : reject(new Error(`${entry.script} exited with code ${code} before it was ready:\n${output.slice(-2_000)}`))))
  })
}

const plinth = fileURLToPath(new URL('../../../packages/core/bin/plinth.js', import.meta.url))
const referenceApp = fileURLToPath(new URL('../../../apps/reference/dist/app.js', import.meta.url))

/**
 * Bundles the compiled reference service into `out` with `plinth build`, as `npm start` does,
 * and resolves to its launcher. The bundle is made from apps/reference/dist, so that must be built.
 */
async function bundleReference(out: string): Promise<string> {
  if (!existsSync(referenceApp)) throw new Error(`${referenceApp} does not exist: build the reference service first (npx tsc -b apps/reference)`)
  try {
    await promisify(execFile)(process.execPath, [plinth, 'build', '--app', referenceApp, '--out', out], { env: process.env })
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`plinth build of the reference service failed (${plinth} build --app ${referenceApp}):\n${stdout}${stderr}`, { cause: error })
  }
  return join(out, 'start.cjs')
}

/**
 * Row 8b: the reference service (apps/reference: HTTP, WebSocket, gRPC and GraphQL servers and
 * the metrics server, its modules and plugins, SQLite, APP_ENV=production) from `spawn` to its
 * "ready in" line, three ways in one run: bare Fastify's import, one route, listen (row 8's first
 * entry); the service from its compiled files (`node apps/reference/dist/main.js`, Node's ES
 * module loader reading some 1,200 files); and the service bundled by `plinth build` (`node
 * start.cjs`, one CommonJS file run from V8's code cache), as `npm start` runs it. The row builds
 * the bundle itself first, into a temporary folder. A fresh process each time, interleaved,
 * after one untimed run of each to warm the file cache; the bundle's untimed run also writes its
 * code cache, so every timed run of it starts from that cache, as every start after the first
 * does in production. Every port is 0; the data folder is one of its own, migrated on the untimed
 * run (DATABASE_MIGRATE=true, so that production starts on a schema that is there). Besides the
 * wall-clock time, the CPU time each process had used when it said ready: on a shared machine it
 * moves less than the wall clock. Target: the reference service within 1.5x of bare Fastify.
 *
 *   npx tsc -b bench apps/reference && node bench/dist/startup/reference.js
 *
 * BENCH_ROUNDS sets the number of rounds; BENCH_REFERENCE_ALSO=<another checkout>/apps/reference/dist/main.js
 * times a second build of the service in the same run (before and after a change).
 */
export async function referenceStartupRow(rounds = 11): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'plinth-bench-reference-'))
  const bundleDir = mkdtempSync(join(tmpdir(), 'plinth-bench-reference-bundle-'))
  const ports = { HTTP_PORT: '0', WS_PORT: '0', GRPC_PORT: '0', GRAPHQL_PORT: '0', METRICS_PORT: '0' }
  const service = { ready: /ready in \d/, env: { ...process.env, ...ports, APP_ENV: 'production', DATA_DIR: dataDir, DATABASE_MIGRATE: 'true' } }
  const unbundled = 'reference service, compiled files: dist/main.js'
  const bundled = 'reference service, plinth build: start.cjs + cache'
  try {
    const entries: Record<string, Entry> = {
      'bare Fastify: import, one route, listen': { script: fileURLToPath(new URL('./fastify.js', import.meta.url)), ready: /READY\n/, env: process.env },
      [unbundled]: { script: fileURLToPath(new URL('../../../apps/reference/dist/main.js', import.meta.url)), ...service },
      [bundled]: { script: await bundleReference(bundleDir), ...service },
    }
    // Another build of the service beside this one, in the same run (a checkout of an earlier
    // commit, built): BENCH_REFERENCE_ALSO=/path/to/apps/reference/dist/main.js.
    const also = process.env.BENCH_REFERENCE_ALSO
    if (also) entries['the same, the build in BENCH_REFERENCE_ALSO'] = { script: also, ...service }
    const names = Object.keys(entries)
    for (const name of names) await timeToReady(entries[name]!)
    // The launcher writes the cache once the service is ready, before the untimed run stops.
    const cache = join(bundleDir, 'app.cjs.cache')
    if (!existsSync(cache)) throw new Error(`the bundle's untimed start wrote no code cache (${cache}): its timed starts would compile from scratch`)
    const times = new Map(names.map((name) => [name, [] as Timing[]]))
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length]!
        times.get(name)!.push(await timeToReady(entries[name]!))
      }
    }
    const base = times.get(names[0]!)!
    // The ratio of each round's pair, so that load that drifts falls on both; the median of those.
    const ratio = (mine: Timing[], pick: (t: Timing) => number | undefined) => {
      const ratios = mine.map((t, i) => (pick(t) ?? NaN) / (pick(base[i]!) ?? NaN)).filter((r) => Number.isFinite(r))
      return ratios.length > 0 ? `${median(ratios).toFixed(2)}x` : ''
    }
    const lines = [
      '',
      `8b. The reference service (4 servers + metrics, production), process start to ready, beside bare Fastify: median of ${rounds} interleaved runs`,
      `   ${'entry'.padEnd(52)} ${'median ms'.padEnd(10)} ${'min ms'.padEnd(8)} ${'CPU ms'.padEnd(8)} ${'wall vs Fastify'.padEnd(16)} CPU vs Fastify`,
    ]
    for (const name of names) {
      const mine = times.get(name)!
      const cpu = mine.map((t) => t.cpuMs).filter((c): c is number => c !== undefined)
      const first = name === names[0]
      lines.push(
        `   ${name.padEnd(52)} ${median(mine.map((t) => t.ms)).toFixed(0).padEnd(10)} ${Math.min(...mine.map((t) => t.ms)).toFixed(0).padEnd(8)} ${(cpu.length > 0 ? median(cpu).toFixed(0) : '').padEnd(8)} ${(first ? '' : ratio(mine, (t) => t.ms)).padEnd(16)} ${first ? '' : ratio(mine, (t) => t.cpuMs)}`,
      )
    }
    return lines.join('\n')
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(bundleDir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await referenceStartupRow(Number(process.env.BENCH_ROUNDS ?? 11)))
