/**
 * `plinth validate` on the reference service, as an operator runs it before a rollout: against
 * the real PostgreSQL, Redis and NATS a production-like environment passes (warnings allowed);
 * with deliberate faults each one is reported in its category with what to do, and nothing
 * else fails. (CORS * with credentials, a missing or placeholder secret and a hanging check
 * are pinned in the http, secrets and core tests; the reference's configuration refuses CORS *.)
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Server } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { KeyRing } from '@plinth/auth'
import type { PreflightReport, PreflightResult } from '@plinth/core'
import { freePort, probeService } from '@plinth/core/testing'
import { BullmqQueue } from '@plinth/jobs'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPasswordServer, type PasswordServer } from '../../../packages/db/test/helpers/password-server.js'
import { createDatabase, postgres } from './postgres.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const nats = await probeService('NATS', { host: '127.0.0.1', port: 4222 })

async function plinth(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, main, ...args], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  return { code, stdout, stderr }
}


/** A job of `course.generate` taken by a worker that died: active, its lock gone, started ten minutes ago. Returns its BullMQ id. */
async function stuckJob(prefix: string): Promise<string> {
  const connection = { host: '127.0.0.1', port: 6379 }
  const queue = new Queue('course.generate', { connection, prefix })
  const admin = new Redis(connection)
  const taker = new Worker('course.generate', null, { connection, prefix })
  try {
    await queue.add('course.generate', { topic: 'stuck' })
    const taken = await taker.getNextJob('dead-worker')
    if (!taken?.id) throw new Error('the worker took no job')
    await admin.del(`${prefix}:course.generate:${taken.id}:lock`)
    await admin.hset(`${prefix}:course.generate:${taken.id}`, 'processedOn', String(Date.now() - 10 * 60_000))
    return taken.id
  } finally {
    await taker.close()
    await queue.close()
    await admin.quit()
  }
}

const services = postgres.available && redis.available && nats.available
describe.skipIf(!services)(postgres.title(redis.title(nats.title('plinth validate on the reference service'))), () => {
  let db: { url: string; drop: () => Promise<void> }
  let dir: string
  let signingKeys: string
  let hanging: Server
  let hangingPort: number
  // An HTTP server that does not speak WebSocket, for WS_PORT to point at.
  let plainHttp: ReturnType<typeof createHttpServer>
  let passwords: PasswordServer
  let wsPort: number
  let metricsPort: number
  // Queues of this run's own on the shared Redis: other runs' jobs are not this service's.
  const jobsPrefix = `validate-${process.pid}-${Date.now().toString(36)}`
  const faultsPrefix = `${jobsPrefix}-faults`
  const production = () => ({
    APP_ENV: 'production',
    NODE_ENV: 'production',
    DATA_DIR: dir,
    DATABASE_URL: db.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    NATS_URL: 'nats://127.0.0.1:4222',
    AUTH_SIGNING_KEYS: signingKeys,
    PREFLIGHT_MIN_FREE_DISK_MB: '1',
    JOBS_PREFIX: jobsPrefix,
    WS_PORT: String(wsPort),
    METRICS_PORT: String(metricsPort),
  })

  beforeAll(async () => {
    db = await createDatabase()
    dir = await mkdtemp(join(tmpdir(), 'plinth-validate-'))
    signingKeys = JSON.stringify(await (await KeyRing.generate({ retainFor: 60_000 })).exportPrivateJwks())
    // A service that accepts connections and never answers.
    hanging = createServer(() => undefined)
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r))
    hangingPort = (hanging.address() as { port: number }).port
    plainHttp = createHttpServer((_req, res) => res.end('not a WebSocket endpoint'))
    await new Promise<void>((r) => plainHttp.listen(0, '127.0.0.1', r))
    passwords = await startPasswordServer()
    wsPort = await freePort()
    metricsPort = await freePort()
    const migrated = await plinth(['migrate', 'up'], { ...production(), DATABASE_MIGRATE: 'false' }, dir)
    expect(migrated.code, migrated.stderr).toBe(0)
    // The artifacts (the published gRPC schemas), as a deployment's bootstrap puts them in DATA_DIR.
    const bootstrapped = await plinth(['bootstrap'], production(), dir)
    expect(bootstrapped.code, bootstrapped.stderr).toBe(0)
  }, 120_000)
  afterAll(async () => {
    for (const prefix of [jobsPrefix, faultsPrefix]) {
      const queues = new BullmqQueue({ url: 'redis://127.0.0.1:6379', prefix })
      await queues.obliterate().catch(() => undefined)
      await queues.close()
    }
    hanging?.close()
    plainHttp?.close()
    await passwords?.close()
    await db?.drop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('a production-like environment passes: exit 0, no failure in any category', async () => {
    const { code, stdout, stderr } = await plinth(['validate', '--env', 'production', '--json'], production(), dir)
    const report = JSON.parse(stdout) as PreflightReport
    const failures = report.results.filter((r) => r.status === 'fail')
    expect(failures, stderr).toEqual([])
    expect(code).toBe(0)
    const categories = new Set(report.results.map((r) => r.category))
    for (const category of ['environment', 'database', 'cache', 'jobs', 'websocket', 'artifacts', 'security', 'performance', 'monitoring', 'external', 'system']) expect(categories).toContain(category)
    const find = (category: string, name: string) => report.results.find((r) => r.category === category && r.name === name)
    expect(find('database', 'connects')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^PostgreSQL \d+/) })
    expect(find('database', 'migrations applied')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^\d+ applied$/) })
    // A PING slower than 20 ms is a warning, which a busy test machine can earn: not a failure.
    expect(find('cache', 'Redis answers')).toMatchObject({ status: expect.stringMatching(/^(pass|warn)$/), found: expect.stringMatching(/^Redis [\d.]+ answered PING in/) })
    expect(find('security', 'JWT signing keys')).toMatchObject({ status: 'pass', found: '1 EdDSA key (Ed25519)' })
    expect(find('jobs', 'queue reachable')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^BullMQ on Redis answered/) })
    expect(find('jobs', 'workers in the group')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^this instance runs workers for \d+ job names?/) })
    expect(find('websocket', 'server reachable')).toMatchObject({ status: 'pass', found: `nothing listens on ws://127.0.0.1:${wsPort}/ yet; 127.0.0.1:${wsPort} is free for the server` })
    // Across instances: the probe went through NATS JetStream and came back.
    expect(find('websocket', 'pub/sub across instances')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^a probe published on BusPubSub came back/) })
    expect(find('external', 'message broker reachable')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^nats at nats:\/\/127\.0\.0\.1:4222 answered/) })
    expect(find('artifacts', 'present, checksums verify')).toMatchObject({ status: 'pass', found: '2 artifacts in place, checksums verified' })
  }, 120_000)

  it('fifteen faults at once: each reported in its category with what to do, and nothing else fails', async () => {
    // jobs: a job whose worker died mid-run (its lock expired ten minutes ago), on a queue of its own
    const stuckId = await stuckJob(faultsPrefix)
    // artifacts: a published schema changed in place in DATA_DIR (same size, other content)
    const schema = join(dir, 'schemas/plinth/telemetry/v1/devices.proto')
    const original = await readFile(schema)
    await writeFile(schema, Buffer.from(original.toString('latin1').replace(/syntax/, 'SYNTAX'), 'latin1'))
    const faults = {
      // environment: a development default left in production
      NODE_ENV: 'development',
      // database: a refused password (the shared server trusts everyone; this one asks and refuses)
      DATABASE_URL: `postgres://app:wrong-password@127.0.0.1:${passwords.port}/app`,
      // cache: nothing listens on port 1
      REDIS_URL: 'redis://127.0.0.1:1',
      // security: no shared signing keys (removed below)
      // monitoring: debug logs in production
      LOG_LEVEL: 'debug',
      // external: a provider that hangs, a registry whose name does not resolve
      AI_PROVIDER: 'openai',
      OPENAI_API_KEY: 'sk-test-0042',
      OPENAI_BASE_URL: `http://127.0.0.1:${hangingPort}/v1`,
      DISCOVERY_URL: 'http://consul.plinth-validate.invalid:8500',
      // system: a free-disk threshold no disk meets
      PREFLIGHT_MIN_FREE_DISK_MB: String(1024 ** 3),
      // jobs: the queue on the real Redis, and this instance runs no worker (nor does any other)
      JOBS_URL: 'redis://127.0.0.1:6379',
      JOBS_PREFIX: faultsPrefix,
      JOBS_WORKERS: 'false',
      // websocket: WS_PORT is held by an HTTP server that does not upgrade
      WS_PORT: String((plainHttp.address() as { port: number }).port),
      // monitoring: METRICS_PORT is where that HTTP server answers, with no metrics
      METRICS_PORT: String((plainHttp.address() as { port: number }).port),
      // messaging: a broker that refuses connections, its password in the URL
      MESSAGING_URL: 'nats://app:bus-secret@127.0.0.1:1',
    }
    const env: Record<string, string> = { ...production(), ...faults }
    delete env.AUTH_SIGNING_KEYS
    const began = performance.now()
    // Long enough for a refused PostgreSQL login on a loaded machine (CI runs files side by side); the AI provider's black hole still times out.
    const { code, stdout } = await plinth(['validate', '--env', 'production', '--json', '--timeout', '4000'], env, dir).finally(() => writeFile(schema, original))
    const elapsed = performance.now() - began
    expect(code).toBe(1)
    const report = JSON.parse(stdout) as PreflightReport
    const bad = (r: PreflightResult) => r.status !== 'pass'
    const expected: [string, string, 'warn' | 'fail', RegExp][] = [
      ['environment', 'no development defaults', 'warn', /NODE_ENV=development/],
      ['database', 'connects', 'fail', /PLINTH_ERR_DB_AUTH_FAILED.*app:\*\*\*@/],
      // The checks that need a connection fail with the same cause.
      ['database', 'migrations applied', 'fail', /PLINTH_ERR_DB_AUTH_FAILED/],
      ['cache', 'Redis answers', 'fail', /ECONNREFUSED/],
      ['security', 'JWT signing keys', 'fail', /none given/],
      ['monitoring', 'log level', 'warn', /debug in production/],
      ['external', 'AI provider answers', 'fail', /no answer within 4000 ms/],
      ['external', 'service registry answers', 'fail', /consul\.plinth-validate\.invalid does not resolve/],
      ['system', 'free disk in DATA_DIR', 'fail', /below 1073741824 MiB/],
      ['jobs', 'workers in the group', 'fail', /^no worker for .*course\.generate.*wait for ever$/],
      ['websocket', 'server reachable', 'fail', /^ws:\/\/127\.0\.0\.1:\d+\/ answered HTTP 200 instead of upgrading to WebSocket$/],
      ['external', 'message broker reachable', 'fail', /nats:\/\/app:\*\*\*@127\.0\.0\.1:1.*(ECONNREFUSED|connection refused)/],
      ['monitoring', 'metrics endpoint', 'fail', /^GET \/metrics on the metrics server .*answered 200 with no Prometheus exposition$/],
      ['artifacts', 'present, checksums verify', 'fail', /schemas\/plinth\/telemetry\/v1\/devices\.proto .*has sha256 [0-9a-f]{64}; [0-9a-f]{64} expected/],
      ['jobs', 'no job stuck past its lease', 'fail', new RegExp(`^1 active job past its lease, run by nothing: course\\.generate@${stuckId} active 10 min$`)],
    ]
    for (const [category, name, status, found] of expected) {
      const result = report.results.find((r) => r.category === category && r.name === name)
      expect(result, `${category}/${name}`).toMatchObject({ status, found: expect.stringMatching(found) })
      expect(result!.fix, `${category}/${name} says what to do`).toBeTruthy()
      expect(result!.found).not.toMatch(/\n\s+at /)
    }
    // Nothing else: every other warning or failure follows from one of the faults above.
    const accounted = new Set(expected.map(([c, n]) => `${c}/${n}`))
    const consequences = new Set([
      'database/clock skew vs database', // cannot reach the database either
      'system/clock skew vs database',
      'performance/database pool size',
      'cache/eviction policy', // cannot reach Redis either
      'security/rate limits', // the reference service sets no trustProxy: warnings of its own
      'security/TLS or trusted proxy',
      'security/HSTS',
      'websocket/pub/sub across instances', // the broker it rides on refuses connections
    ])
    const unexplained = report.results.filter(bad).filter((r) => !accounted.has(`${r.category}/${r.name}`) && !consequences.has(`${r.category}/${r.name}`))
    expect(unexplained).toEqual([])
    expect(report.results.find((r) => r.category === 'artifacts')!.fix).toMatch(/plinth bootstrap/)
    expect(stdout).not.toContain('bus-secret')
    expect(report.results.find((r) => r.category === 'security' && r.name === 'CORS')).toMatchObject({ status: 'pass' })
    // Every check ran under its deadline, concurrently: the hanging one does not hold the rest.
    expect(elapsed).toBeLessThan(60_000)
  }, 120_000)

  it('a database whose migrations were never applied: the table names each pending one and the command that applies them', async () => {
    const fresh = await createDatabase()
    try {
      // Start-up applies pending migrations by default: a warning (apply them before the rollout).
      const automatic = await plinth(['validate', '--env', 'production', '--only', 'database'], { ...production(), DATABASE_URL: fresh.url }, dir)
      expect(automatic.code).toBe(0)
      expect(automatic.stdout).toMatch(/^database\s+migrations applied\s+WARN\s+\d+ pending \(.*telemetry\/001_devices_and_readings.*\); start-up applies them/m)
      // With automatic migrations off, the service would start on a schema that is not there.
      const { code, stdout } = await plinth(['validate', '--env', 'production', '--only', 'database'], { ...production(), DATABASE_URL: fresh.url, DATABASE_MIGRATE: 'false' }, dir)
      expect(code).toBe(1)
      expect(stdout).toMatch(/^CATEGORY\s+CHECK\s+RESULT\s+FOUND\s+WHAT TO DO$/m)
      expect(stdout).toMatch(/^database\s+connects\s+pass\s+PostgreSQL/m)
      expect(stdout).toMatch(/^database\s+migrations applied\s+FAIL\s+\d+ pending: .*telemetry\/001_devices_and_readings.*run `plinth migrate up`/m)
      expect(stdout).not.toMatch(/^cache\s/m)
      expect(stdout).toMatch(/reference \(production\): not ready: 1 passed, 0 warnings, 1 failed/)
    } finally {
      await fresh.drop()
    }
  }, 120_000)
})
