import { isPlinthError } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { HttpServer, httpErrors, type HttpServerDeps } from '../src/index.js'
import { bootHttp } from './harness.js'

describe("@plinth/http's own errors", () => {
  it('refuses CORS that lets every origin send credentials, at start, naming the setting', async () => {
    for (const origin of ['*', true, ['https://app.example.com', '*']] as const) {
      const error = await bootHttp({ cors: { origin: origin as never, credentials: true } }).catch((e: unknown) => e)
      const cause = isPlinthError(error, 'PLINTH_ERR_HTTP_CORS_CREDENTIALS') ? error : (error as { cause?: unknown }).cause
      expect(httpErrors.is(cause, 'PLINTH_ERR_HTTP_CORS_CREDENTIALS'), String(error)).toBe(true)
      expect((cause as Error).message).toBe(`cors.origin is ${JSON.stringify(origin)} with credentials: true in the HTTP server's options`)
    }
    await using listed = await bootHttp({ cors: { origin: ['https://app.example.com'], credentials: true } })
    expect(listed.server.fastify).toBeDefined()
  })

  it('says the server has not started when its Fastify instance is asked for too early', () => {
    // The getter reads nothing of the server's dependencies.
    const server = new HttpServer({} as HttpServerDeps)
    const error = (() => {
      try {
        return server.fastify
      } catch (e) {
        return e
      }
    })()
    expect(httpErrors.is(error, 'PLINTH_ERR_HTTP_NOT_STARTED')).toBe(true)
    expect((error as Error).message).toBe('the "http-server" component has not started; start the app first')
  })
})
