import 'reflect-metadata'
import { createApp, HealthChecks, provide, token } from '@plinth/core'
import { httpServer, Routes } from '@plinth/http'
import { Controller, Get, Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import type { FastifyInstance } from 'fastify'
import { fastify, pino } from '../plinth-deps.js'

/** A server under test: where it listens and how to stop it. */
export interface Running {
  readonly url: string
  close(): Promise<void>
}

const body = () => ({ hello: 'world' })

/** Serves the JSON route on a free port of 127.0.0.1. */
async function serveJson(server: FastifyInstance): Promise<Running> {
  server.get('/json', body)
  await server.listen({ port: 0, host: '127.0.0.1' })
  const address = server.server.address() as import('node:net').AddressInfo
  return { url: `http://127.0.0.1:${address.port}`, close: () => server.close() }
}

/** Bare Fastify with its defaults: no logger, no hooks, one JSON route. */
export const bareFastify = (): Promise<Running> => serveJson(fastify())

/** Fastify with its own request logging: pino at info to /dev/null, two lines per request (incoming, completed). */
export const loggedFastify = (): Promise<Running> =>
  serveJson(fastify({ loggerInstance: pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true })) }) as unknown as FastifyInstance)

// Decorators applied as functions, as bench/src/libraries/nest.ts does, so that the sources
// run under any decorator setting (tsx follows the root tsconfig, which has none).
class JsonController {
  json() {
    return body()
  }
}
Get('json')(JsonController.prototype, 'json', Object.getOwnPropertyDescriptor(JsonController.prototype, 'json')!)
Controller()(JsonController)

class JsonModule {}
Module({ controllers: [JsonController] })(JsonModule)

/** NestJS on its Fastify adapter, logger off, one controller. */
export async function nestFastify(): Promise<Running> {
  const app = await NestFactory.create<NestFastifyApplication>(JsonModule, new FastifyAdapter(), { logger: false })
  await app.listen(0, '127.0.0.1')
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1')
  return { url, close: () => app.close() }
}

/**
 * A Plinth app as a user would ship it: the HTTP server with its defaults (request ids, access
 * log at info, HTTP metrics, helmet, the request scope, problem details), the JSON route
 * contributed through Routes. Log lines go to /dev/null through pino, so that they are
 * serialised and written as in production without flooding the benchmark's output.
 * `hangingCheck` adds a critical health check that never answers, for the readiness row.
 */
export async function plinthApp(options: { hangingCheck?: boolean; requestScoped?: boolean; accessLog?: boolean; securityHeaders?: boolean; asyncLog?: boolean } = {}): Promise<Running> {
  // pino's file destination (SonicBoom), pointed at /dev/null: synchronous writes, or with
  // `asyncLog` asynchronous ones, as pino's default standard output destination writes.
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: options.asyncLog !== true }))
  const routes = provide(Routes, { value: (http) => void http.get('/json', body) })
  const checks = options.hangingCheck
    ? [
        provide(HealthChecks, { value: { name: 'database', check: () => 'up' as const } }),
        provide(HealthChecks, { value: { name: 'hanging', timeout: 3_600_000, check: () => new Promise<never>(() => {}) } }),
      ]
    : []
  // A request-scoped provider makes the server open a scope (AsyncLocalStorage) per request.
  const scoped = options.requestScoped ? [provide(RequestState, { lifetime: 'scoped', create: () => ({ startedAt: performance.now() }) })] : []
  const app = createApp({ name: 'bench', components: [httpServer({ port: 0, healthDetails: 'always', accessLog: options.accessLog ?? true, ...(options.securityHeaders === false ? { helmet: false as const } : {}) }), routes, ...checks, ...scoped], logging: logger })
  await app.start({ env: { APP_ENV: 'production' }, argv: [] })
  const url = app.endpoints().find((e) => e.name === 'http')?.url
  if (!url) throw new Error('the Plinth app announced no http endpoint')
  return {
    url,
    close: async () => {
      await app.stop('benchmark finished')
    },
  }
}

const RequestState = token('request-state').of<{ startedAt: number }>()

export const contenders = {
  fastify: bareFastify,
  'fastify-logged': loggedFastify,
  nest: nestFastify,
  plinth: () => plinthApp(),
  'plinth-scoped': () => plinthApp({ requestScoped: true }),
  'plinth-quiet': () => plinthApp({ accessLog: false }),
  'plinth-no-headers': () => plinthApp({ securityHeaders: false }),
  // The same, logging through asynchronous writes (pino's default for standard output).
  'plinth-async-log': () => plinthApp({ securityHeaders: false, asyncLog: true }),
  // Request ids and metrics only: with the two above, what the access log and the headers each cost.
  'plinth-min': () => plinthApp({ securityHeaders: false, accessLog: false }),
  'plinth-hanging-check': () => plinthApp({ hangingCheck: true }),
} as const

export type ContenderName = keyof typeof contenders
