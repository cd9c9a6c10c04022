/**
 * Starts the reference service in-process for a test: every port at 0 (so test files never
 * collide), its own working and data directory, the silence watcher quick, logs silent unless
 * LOG_LEVEL says otherwise.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Auth } from '@plinth/auth'
import type { App } from '@plinth/core'
import { startTestApp, type TestApp } from '@plinth/core/testing'
import { createReferenceApp } from '../src/app.js'

export const freePorts = { HTTP_PORT: '0', WS_PORT: '0', GRPC_PORT: '0', GRAPHQL_PORT: '0', METRICS_PORT: '0' }

export interface Response<T = any> {
  readonly status: number
  readonly headers: Headers
  readonly body: T
}

export interface Service extends AsyncDisposable {
  readonly app: App
  readonly t: TestApp
  readonly dir: string
  readonly dataDir: string
  /** Each server's address, by the name it announced: http, docs, websocket, grpc, graphql, metrics. */
  readonly urls: Readonly<Record<string, string>>
  /** A JSON request to the REST server, as an operator (`devices:write`) unless `as` names another token, or null for none. */
  rest<T = any>(method: string, path: string, body?: unknown, as?: { token: string | null }): Promise<Response<T>>
  /** An operator's access token, issued at start by the auth service. */
  readonly operatorToken: string
  /** The Prometheus exposition. */
  metrics(): Promise<string>
  stop(): Promise<void>
}

/** Starts the service with `env` on top of free ports; `await using` stops it and removes its files. */
export async function startService(env: Record<string, string> = {}, options: { beforeStart?: (dataDir: string) => Promise<void> } = {}): Promise<Service> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-reference-'))
  const dataDir = join(dir, 'data')
  await options.beforeStart?.(dataDir)
  const app = createReferenceApp({ logging: { level: process.env.LOG_LEVEL ?? 'silent' } })
  let t: TestApp
  try {
    t = await startTestApp(app, { cwd: dir, env: { ...freePorts, DATA_DIR: dataDir, TELEMETRY_SILENCE_CHECK_INTERVAL: '100', ...env } })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  const urls = Object.fromEntries(app.endpoints().map((e) => [e.name, e.url]))
  const operatorToken = await operator(t)
  let stopped: Promise<void> | undefined
  const stop = () => (stopped ??= t.stop().then(() => rm(dir, { recursive: true, force: true })))
  return {
    app,
    t,
    dir,
    dataDir,
    urls,
    operatorToken,
    async rest(method, path, body, as = { token: operatorToken }) {
      const headers: Record<string, string> = as.token === null ? {} : { authorization: `Bearer ${as.token}` }
      const res = await fetch(`${urls.http}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await res.text()
      return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
    },
    async metrics() {
      return (await fetch(urls.metrics!)).text()
    },
    stop,
    [Symbol.asyncDispose]: stop,
  }
}

/** An operator's token from the auth service: a service token, which needs no database (some tests start without one). */
async function operator(t: TestApp): Promise<string> {
  return (await t.resolve(Auth)).issueServiceToken('reference-tests', ['operator'])
}

/** The value of one series in a Prometheus exposition, or undefined when it is absent. */
export function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** A name no other test or run uses: `thermo-3f9a1c`. */
export function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`
}

/** Polls `probe` until it returns something other than undefined, or fails after `timeout` ms. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeout = 5_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
