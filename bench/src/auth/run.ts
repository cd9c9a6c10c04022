/**
 * The auth rows, one run:
 *
 * A. Verifying an access token per request on the JSON route: Plinth's guard beside
 *    @fastify/jwt verifying the same EdDSA token on bare Fastify (target: within 10% of its
 *    throughput), each server in its own process, rounds interleaved, autocannon sending
 *    `Authorization: Bearer <token>`. Requests per second and the server's CPU time per request.
 * B. Login cost: argon2id hash and verify with the default parameters (OWASP's minimum, m=19 MiB
 *    t=2 p=1) beside OWASP's other equivalent configurations, ms per hash on this machine; and a
 *    login with a wrong password beside one for an unknown email (no enumeration by timing).
 *
 * `npx tsx --conditions=@plinth/source bench/src/auth/run.ts [--rounds=5] [--duration=3]`, or built: `node bench/dist/auth/run.js`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { KeyRing, MemoryAuthStore, PasswordHasher, createAuthentication, owaspMinimumArgon2, type Argon2Parameters } from '@plinth/auth'
import autocannon from 'autocannon'
import { formatMs, formatOps, formatRatio, table } from '../report.js'
import { audience, issuer, type AuthContender } from './contenders.js'

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]))
const rounds = Number(args.rounds ?? 5)
const duration = Number(args.duration ?? 3)
const connections = 50

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

interface Server {
  readonly name: AuthContender
  readonly url: string
  readonly child: ChildProcess
}

async function start(name: AuthContender, jwk: string): Promise<Server> {
  const fromSource = import.meta.url.endsWith('.ts')
  const entry = fileURLToPath(new URL(fromSource ? './server.ts' : './server.js', import.meta.url))
  const argv = fromSource ? ['--conditions=@plinth/source', '--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, entry, name] : [entry, name]
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, APP_ENV: 'production', PLINTH_BENCH_JWK: jwk } })
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
  return { name, url, child }
}

async function stop(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.child.once('exit', () => resolve())
    server.child.kill('SIGTERM')
  })
}

async function tokenRow(): Promise<string> {
  const ring = await KeyRing.generate({ retainFor: 3_600_000 })
  const [jwk] = await ring.exportPrivateJwks()
  const signer = await createAuthentication({ store: new MemoryAuthStore(), roles: { user: [] }, issuer, audience, signingKeys: [jwk!], accessTokenLifetime: 3_600 })
  const token = await signer.issueServiceToken('bench-user', ['user'])
  const names: AuthContender[] = ['fastify+@fastify/jwt', 'fastify+plinth-guard', 'plinth', 'plinth+guard']
  const servers: Server[] = []
  for (const name of names) servers.push(await start(name, JSON.stringify(jwk)))
  try {
    // Each contender must accept the token and refuse its absence, or its figure means nothing.
    for (const server of servers) {
      const good = await fetch(`${server.url}/json`, { headers: { authorization: `Bearer ${token}` } })
      const none = await fetch(`${server.url}/json`)
      const guarded = server.name !== 'plinth'
      if (good.status !== 200 || (guarded && none.status !== 401)) throw new Error(`${server.name} answered ${good.status} with the token and ${none.status} without it`)
    }
    // Warm-up: each server's JIT settles before anything is counted.
    for (const server of servers) await autocannon({ url: `${server.url}/json`, connections, duration: 2, headers: { authorization: `Bearer ${token}` } })
    const figures = new Map<AuthContender, { rps: number[]; cpu: number[] }>(names.map((n) => [n, { rps: [], cpu: [] }]))
    for (let round = 0; round < rounds; round++) {
      // A rotating order, so that drift on a shared machine spreads over every contender.
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(i + round) % servers.length]!
        const before = cpuMicros(server.child.pid)
        const result = await autocannon({ url: `${server.url}/json`, connections, duration, headers: { authorization: `Bearer ${token}` } })
        const after = cpuMicros(server.child.pid)
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.name}: ${result.non2xx} non-2xx responses, ${result.errors} errors`)
        figures.get(server.name)!.rps.push(result.requests.average)
        if (before !== undefined && after !== undefined) figures.get(server.name)!.cpu.push((after - before) / result.requests.total)
      }
    }
    const peer = median(figures.get('fastify+@fastify/jwt')!.rps)
    const peerCpu = median(figures.get('fastify+@fastify/jwt')!.cpu)
    const plinth = median(figures.get('plinth')!.rps)
    const rows = names.map((name) => {
      const { rps, cpu } = figures.get(name)!
      return [name, formatOps(median(rps)), cpu.length ? `${median(cpu).toFixed(1)} µs` : 'n/a', formatRatio(median(rps) / peer), cpu.length ? formatRatio(median(cpu) / peerCpu) : 'n/a']
    })
    const guardCost = 1 - median(figures.get('plinth+guard')!.rps) / plinth
    return [
      `\nA. Access token verified per request, GET /json, ${connections} connections, ${rounds} rounds x ${duration} s, autocannon, median`,
      table(['contender', 'req/s', 'server CPU/req', 'req/s vs @fastify/jwt', 'CPU/req vs @fastify/jwt'], rows),
      `The guard costs the Plinth server ${(guardCost * 100).toFixed(1)}% of its unguarded throughput.`,
    ].join('\n')
  } finally {
    for (const server of servers) await stop(server)
  }
}

async function timeHash(parameters: Argon2Parameters, samples: number): Promise<{ hash: number; verify: number }> {
  const hasher = new PasswordHasher(parameters)
  const hashes: number[] = []
  const verifies: number[] = []
  await hasher.hash('warm up the binding')
  for (let i = 0; i < samples; i++) {
    let began = performance.now()
    const stored = await hasher.hash('tulip harbour quietly forty-seven')
    hashes.push(performance.now() - began)
    began = performance.now()
    await hasher.verify(stored, 'tulip harbour quietly forty-seven')
    verifies.push(performance.now() - began)
  }
  return { hash: median(hashes), verify: median(verifies) }
}

async function loginRow(): Promise<string> {
  // OWASP Password Storage Cheat Sheet: five argon2id configurations of equal strength; the first is Plinth's default.
  const owasp: Array<[string, Argon2Parameters]> = [
    ['m=19 MiB, t=2, p=1 (Plinth default = OWASP minimum)', owaspMinimumArgon2],
    ['m=46 MiB, t=1, p=1', { memoryCost: 47_104, timeCost: 1, parallelism: 1 }],
    ['m=12 MiB, t=3, p=1', { memoryCost: 12_288, timeCost: 3, parallelism: 1 }],
    ['m=9 MiB, t=4, p=1', { memoryCost: 9_216, timeCost: 4, parallelism: 1 }],
    ['m=7 MiB, t=5, p=1', { memoryCost: 7_168, timeCost: 5, parallelism: 1 }],
  ]
  const rows: string[][] = []
  for (const [label, parameters] of owasp) {
    const { hash, verify } = await timeHash(parameters, 15)
    rows.push([label, `${formatMs(hash)} ms`, `${formatMs(verify)} ms`])
  }
  const auth = await createAuthentication({ store: new MemoryAuthStore(), roles: { user: [] }, issuer, audience, throttle: { accountFailures: 1_000, addressFailures: 1_000 } })
  await auth.register({ email: 'ada@example.com', password: 'tulip harbour quietly forty-seven' })
  const wrong: number[] = []
  const unknown: number[] = []
  for (let i = 0; i < 21; i++) {
    // Alternating which goes first, so that neither always follows the other's garbage.
    const pair = [['ada@example.com', wrong], ['nobody@example.com', unknown]] as const
    for (const [email, into] of i % 2 === 0 ? pair : [pair[1], pair[0]]) {
      const began = performance.now()
      await auth.login({ email, password: 'not the password at all' }).catch(() => undefined)
      into.push(performance.now() - began)
    }
  }
  return [
    `\nB. Password hashing (argon2id, @node-rs/argon2), median of 15, ms per operation`,
    table(['parameters', 'hash', 'verify'], rows),
    `Failed login, median of 21 interleaved: wrong password ${formatMs(median(wrong))} ms, unknown email ${formatMs(median(unknown))} ms (ratio ${formatRatio(median(unknown) / median(wrong))}).`,
  ].join('\n')
}

const cpu = cpus()
console.log(`Plinth auth benchmarks, ${new Date().toISOString()}; Node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}`)
if (args.row !== 'B') console.log(await tokenRow())
if (args.row !== 'A') console.log(await loginRow())
