import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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

/**
 * Row 8b: the reference service (apps/reference: HTTP, WebSocket, gRPC and GraphQL servers and
 * the metrics server, its modules and plugins, SQLite, APP_ENV=production) from `spawn` to its
 * "ready in" line, against bare Fastify's import, one route, listen (row 8's first entry), in
 * one run: a fresh process each time, interleaved, after one untimed run of each to warm the
 * file cache. Every port is 0; the data folder is one of its own, migrated on the untimed run
 * (DATABASE_MIGRATE=true, so that production starts on a schema that is there). Besides the
 * wall-clock time, the CPU time each process had used when it said ready: on a shared machine
 * it moves less than the wall clock. Target: the reference service within 1.5x of bare Fastify.
 *
 *   npx tsc -b bench apps/reference && node bench/dist/startup/reference.js
 *
 * BENCH_ROUNDS sets the number of rounds; BENCH_REFERENCE_ALSO=<another checkout>/apps/reference/dist/main.js
 * times a second build of the service in the same run (before and after a change).
 */
export async function referenceStartupRow(rounds = 11): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'plinth-bench-reference-'))
  const ports = { HTTP_PORT: '0', WS_PORT: '0', GRPC_PORT: '0', GRAPHQL_PORT: '0', METRICS_PORT: '0' }
  const entries: Record<string, Entry> = {
    'bare Fastify: import, one route, listen': { script: fileURLToPath(new URL('./fastify.js', import.meta.url)), ready: /READY\n/, env: process.env },
    'reference service: 4 servers + metrics, production': {
      script: fileURLToPath(new URL('../../../apps/reference/dist/main.js', import.meta.url)),
      ready: /ready in \d/,
      env: { ...process.env, ...ports, APP_ENV: 'production', DATA_DIR: dataDir, DATABASE_MIGRATE: 'true' },
    },
  }
  // Another build of the service beside this one, in the same run (a checkout of an earlier
  // commit, built): BENCH_REFERENCE_ALSO=/path/to/apps/reference/dist/main.js.
  const also = process.env.BENCH_REFERENCE_ALSO
  if (also) entries['the same, the build in BENCH_REFERENCE_ALSO'] = { ...entries['reference service: 4 servers + metrics, production']!, script: also }
  const names = Object.keys(entries)
  try {
    for (const name of names) await timeToReady(entries[name]!)
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
      `8b. The reference service, process start to ready, beside bare Fastify: median of ${rounds} interleaved runs`,
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
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await referenceStartupRow(Number(process.env.BENCH_ROUNDS ?? 11)))
