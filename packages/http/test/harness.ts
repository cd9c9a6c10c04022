import { createApp, type AnyProvider, type AppOptions, type Module } from '@plinth/core'
import { startTestApp, type TestApp } from '@plinth/core/testing'
import { pino } from 'pino'
import { httpServer, type HttpServer, type HttpServerOptions } from '../src/index.js'

/** A pino logger whose lines are kept as objects, to assert on access logs. */
export function memoryLogger(level = 'info') {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { logger, lines }
}

export interface HttpTest extends AsyncDisposable {
  readonly t: TestApp
  readonly server: HttpServer
  readonly lines: Record<string, unknown>[]
}

/** Boots an app with the HTTP server (not listening unless asked) and the given components. */
export async function bootHttp(
  options: HttpServerOptions = {},
  components: AnyProvider[] = [],
  app: Partial<AppOptions<readonly AnyProvider[], readonly Module[]>> & { env?: Record<string, string> } = {},
): Promise<HttpTest> {
  const { logger, lines } = memoryLogger(process.env.TEST_LOG_LEVEL ?? 'info')
  const server = httpServer({ listen: false, ...options })
  const { env, ...appOptions } = app
  const t = await startTestApp(createApp({ name: 'http-test', version: '1.0.0', components: [server, ...components], logging: logger, ...appOptions }), env ? { env } : {})
  return { t, server: t.get(server), lines, [Symbol.asyncDispose]: () => t[Symbol.asyncDispose]() }
}
