/**
 * The reference service as a real process on the real PostgreSQL: a gRPC client stream open at
 * SIGTERM, and finished while the server drains, completes OK, because the database stops only
 * after the gRPC server whose handlers use it. While it drains, a unary health Check reads
 * NOT_SERVING (the listener is still there, also in development where there is no drain delay).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ServiceError } from '@grpc/grpc-js'
import { grpcHealthClient, grpcTestClient } from '@plinth/grpc/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { telemetryProto } from './clients.js'
import { createDatabase, postgres } from './postgres.js'
import { freePorts } from './service.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/** The service's JSON log lines, parsed; lines that are not JSON are left out. */
function logLines(output: string): Array<{ msg: string; component?: string; level?: number }> {
  return output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line)]
    } catch {
      return []
    }
  })
}

/** The warnings and errors the service logged, for a failure's message. */
function problems(output: string): string {
  return logLines(output).filter((l) => (l.level ?? 0) >= 40).map((l) => l.msg).join('\n')
}

describe.skipIf(!postgres.available)(postgres.title('a gRPC client stream across SIGTERM'), () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  beforeAll(async () => {
    database = await createDatabase()
  })
  afterAll(() => database?.drop())

  it.each(['development', 'production'])('in %s, completes OK when finished during the drain; Check reads NOT_SERVING; the database stops after the gRPC server', async (env) => {
    const cwd = await mkdtemp(join(tmpdir(), 'plinth-reference-grpc-drain-'))
    const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, main], {
      cwd,
      env: { PATH: process.env.PATH, APP_ENV: env, LOG_LEVEL: 'debug', DATA_DIR: join(cwd, 'data'), DATABASE_URL: database.url, DATABASE_MIGRATE: 'true', ...freePorts },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      const ready = await new Promise<{ endpoints: Array<{ name: string; url: string }> }>((resolve, reject) => {
        const poll = setInterval(() => {
          const line = logLines(output).find((l) => l.msg.startsWith('ready in'))
          if (line === undefined) return
          clearInterval(poll)
          resolve(line as never)
        }, 50)
        void exited.then(() => (clearInterval(poll), reject(new Error(`the service exited before it was ready:\n${output}`))))
      })
      const url = ready.endpoints.find((e) => e.name === 'grpc')!.url
      const device = `drain-${env}-${Date.now()}`
      const db = new pg.Client({ connectionString: database.url })
      await db.connect()
      await db.query(`insert into telemetry_devices (id, kind, metadata, registered_at) values ($1, 'thermometer', '{}', $2)`, [device, new Date().toISOString()])
      await db.end()

      const telemetry = grpcTestClient(telemetryProto, 'plinth.telemetry.v1.Telemetry', url)
      const health = grpcHealthClient(url)
      const check = () =>
        new Promise<string>((resolve, reject) => health.Check!({ service: '' }, { deadline: Date.now() + 5_000 }, (error: ServiceError | null, response: any) => (error ? reject(error) : resolve(response.status))))
      try {
        let settle!: (outcome: { code: number; details: string } | { stored: number }) => void
        const outcome = new Promise<{ code: number; details: string } | { stored: number }>((resolve) => (settle = resolve))
        const call = telemetry.IngestReadings!({ deadline: Date.now() + 20_000 }, (error: ServiceError | null, summary: { stored: number }) => settle(error ? { code: error.code, details: error.details } : summary))
        call.write({ device, metric: 'temperature', value: 1, timestamp: new Date(Date.now() - 2_000).toISOString() })
        // The stream and this Check share one HTTP/2 connection, in order: once Check answers, the server has the call.
        expect(await check()).toBe('SERVING')

        child.kill('SIGTERM')
        // Draining: the listener is still there while the stream is open, and Check reads NOT_SERVING.
        const deadline = Date.now() + 5_000
        let status = 'SERVING'
        while (status === 'SERVING' && Date.now() < deadline) status = await check()
        expect(status).toBe('NOT_SERVING')

        call.write({ device, metric: 'temperature', value: 2, timestamp: new Date(Date.now() - 1_000).toISOString() })
        call.end()
        expect(await outcome, problems(output)).toMatchObject({ stored: 2 })
      } finally {
        telemetry.close()
        health.close()
      }
      expect(await exited, problems(output)).toBe(0)
      expect(output).not.toContain('driver has already been destroyed')
      const stopped = logLines(output).filter((l) => / stopped in /.test(l.msg)).map((l) => l.component)
      const grpcServer = stopped.findIndex((name) => name === 'grpc-server')
      const databaseStopped = stopped.findIndex((name) => name === 'database')
      expect(grpcServer, stopped.join(', ')).toBeGreaterThanOrEqual(0)
      expect(databaseStopped, stopped.join(', ')).toBeGreaterThan(grpcServer)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      await rm(cwd, { recursive: true, force: true })
    }
  }, 60_000)
})
