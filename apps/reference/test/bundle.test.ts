/**
 * The reference service as `npm start` runs it: bundled by `plinth build` into one file and
 * started by the launcher beside it, a real process in production. Every server answers a real
 * client of its protocol, SIGTERM exits 0, and the next start runs from the V8 code cache the
 * first one wrote. Needs the build (`tsc -b`): the bundle is made from the compiled app.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphql, grpcClients, WsClient } from './clients.js'
import { endpoint, spawnService, type ServiceProcess } from './process.js'
import { eventually, freePorts } from './service.js'

/** The lines of every log file in `dir` (none while it does not exist). */
const readLog = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).flatMap((file) => readFileSync(join(dir, file), 'utf8').split('\n')) : [])

const plinth = fileURLToPath(new URL('../../../packages/core/bin/plinth.js', import.meta.url))
const appModule = fileURLToPath(new URL('../dist/app.js', import.meta.url))

describe('the bundle plinth build writes', () => {
  let dir: string
  let out: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-reference-bundle-'))
    out = join(dir, 'bundle')
    const built = await promisify(execFile)(process.execPath, [plinth, 'build', '--app', appModule, '--out', out], { cwd: dir, env: { PATH: process.env.PATH } })
    expect(built.stdout).toMatch(/built .*app\.cjs \([\d.]+ MiB, \d+ discovered modules\)/)
  }, 120_000)
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const start = (env: Record<string, string> = {}): ServiceProcess =>
    spawnService([join(out, 'start.cjs')], {
      cwd: dir,
      env: { PATH: process.env.PATH, APP_ENV: 'production', DATA_DIR: join(dir, 'data'), DATABASE_MIGRATE: 'true', ...freePorts, ...env },
    })

  it('serves REST, WebSocket, gRPC, GraphQL and metrics, exits 0 on SIGTERM, and starts again from its code cache', async () => {
    const cache = join(out, 'app.cjs.cache')
    expect(existsSync(cache)).toBe(false)

    const first = start()
    try {
      const ready = await first.ready
      const childId = `bundled-${Date.now()}`
      const rest = await fetch(`${endpoint(ready, 'http')}/api/v1/conversation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ childId, message: 'Hello!' }),
      })
      expect(rest.status).toBe(200)
      expect(await rest.json()).toMatchObject({ childId, message: 'Hello!', provider: 'local' })

      const ws = await WsClient.connect(endpoint(ready, 'websocket'))
      try {
        expect(await ws.request('conversation.send', { childId, message: 'I built a sandcastle' })).toMatchObject({ type: 'result', data: { childId, message: 'I built a sandcastle' } })
      } finally {
        ws.close()
      }

      const grpc = grpcClients(endpoint(ready, 'grpc'))
      try {
        expect(await grpc.check('')).toBe('SERVING')
        expect(await grpc.check('plinth.telemetry.v1.Telemetry')).toBe('SERVING')
      } finally {
        grpc.close()
      }

      // What came in over REST and WebSocket, read back over GraphQL: one database behind all three.
      const history = await graphql(endpoint(ready, 'graphql'), 'query ($c: ID!) { conversation(childId: $c, limit: 5) { message } }', { c: childId })
      expect(history.errors).toBeUndefined()
      expect(history.data.conversation).toEqual([{ message: 'Hello!' }, { message: 'I built a sandcastle' }])

      expect(await (await fetch(endpoint(ready, 'metrics'))).text()).toMatch(/^app_startup_duration_seconds /m)

      // The launcher writes the code cache once the service is ready.
      await eventually(async () => (existsSync(cache) ? true : undefined), 10_000, `${cache} written after the first ready`)
      expect(await first.stop()).toBe(0)
      expect(first.output()).toContain('"msg":"stopped in')
    } finally {
      await first.stop()
    }

    const written = statSync(cache)
    // The second start logs to a rotating file (pino, bundled, with pino-roll from node_modules).
    const second = start({ LOG_FILE: 'logs/app.log' })
    try {
      const ready = await eventually(async () => readLog(join(dir, 'data', 'logs')).find((line) => line.includes('"msg":"ready in')), 30_000, 'the ready line in data/logs')
      expect((await fetch(`${endpoint(JSON.parse(ready) as never, 'http')}/api/v1/conversation/bundled-none/history`)).status).toBe(200)
      expect(await second.stop()).toBe(0)
    } finally {
      await second.stop()
    }
    // The launcher rewrites the cache when V8 rejects it; the same file, untouched, is one V8 took.
    const after = statSync(cache)
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: written.ino, mtimeMs: written.mtimeMs })
  }, 120_000)
})
