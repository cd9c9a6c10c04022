import { provide } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { PROBLEM_JSON, Routes } from '../src/index.js'
import { apiSecurityHeaders, apiSecurityHeaderValues, securityHeaders } from '../src/plugins.js'
import { bootHttp } from './harness.js'

const routes = provide(Routes, {
  value: (http) => {
    http.get('/hello', () => ({ hello: 'world' }))
    http.post(
      '/orders',
      {
        schema: {
          summary: 'Place an order',
          body: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } },
          response: { 201: { type: 'object', properties: { id: { type: 'string' } } } },
        },
      },
      (_request, reply) => reply.code(201).send({ id: 'o-1' }),
    )
  },
})

describe('security', () => {
  it('sends an API\'s security headers on every response, and helmet\'s HTML defaults when asked', async () => {
    await using h = await bootHttp({}, [routes])
    const { headers } = await h.server.fastify.inject('/hello')
    expect(headers).toMatchObject({
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    })
    for (const name of ['x-frame-options', 'referrer-policy', 'x-xss-protection']) expect(headers[name]).toBeUndefined()
    expect((await h.server.fastify.inject('/nowhere')).headers['x-content-type-options']).toBe('nosniff')

    await using html = await bootHttp({ helmet: {} }, [routes])
    expect((await html.server.fastify.inject('/hello')).headers['content-security-policy']).toContain("default-src 'self'")
  })

  it('keeps the written-out default headers what helmet itself sends for apiSecurityHeaders', async () => {
    // A copy of the options is not the default object, so helmet computes them.
    expect(await securityHeaders({ ...apiSecurityHeaders })).toEqual(apiSecurityHeaderValues)
  })

  it('sends Strict-Transport-Security over HTTPS only, as RFC 6797 asks, trusting X-Forwarded-Proto from a trusted proxy', async () => {
    await using h = await bootHttp({ trustProxy: '127.0.0.1' }, [routes])
    expect((await h.server.fastify.inject('/hello')).headers['strict-transport-security']).toBeUndefined()
    const proxied = await h.server.fastify.inject({ url: '/hello', headers: { 'x-forwarded-proto': 'https' } })
    expect(proxied.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    const untrusted = await h.server.fastify.inject({ url: '/hello', headers: { 'x-forwarded-proto': 'https' }, remoteAddress: '203.0.113.9' })
    expect(untrusted.headers['strict-transport-security']).toBeUndefined()
  })

  it('sends no CORS headers unless configured, then answers preflights for the allowed origins', async () => {
    await using closed = await bootHttp({}, [routes])
    expect((await closed.server.fastify.inject({ url: '/hello', headers: { origin: 'https://shop.example' } })).headers['access-control-allow-origin']).toBeUndefined()

    await using open = await bootHttp({ cors: { origin: ['https://shop.example'] } }, [routes])
    const preflight = await open.server.fastify.inject({
      method: 'OPTIONS',
      url: '/orders',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    })
    expect(preflight.statusCode).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://shop.example')
    const other = await open.server.fastify.inject({ url: '/hello', headers: { origin: 'https://evil.example' } })
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
    // CORS's catch-all preflight route does not turn an unknown path's 404 into a 405.
    expect((await open.server.fastify.inject('/nowhere')).statusCode).toBe(404)
  })

  describe('CORS over a socket, as browsers send it', () => {
    const resources = provide(Routes, {
      value: (http) => {
        http.get('/orders/:id', () => ({ id: '7' }))
        http.put('/orders/:id', () => ({ id: '7' }))
        http.patch('/orders/:id', () => ({ id: '7' }))
        http.delete('/orders/:id', (_request, reply) => reply.code(204).send())
      },
    })
    const preflight = (url: string, origin: string, method: string) => fetch(`${url}/orders/7`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method } })
    const corsHeaders = (response: Response) => [...response.headers.keys()].filter((name) => name.startsWith('access-control-'))

    it('allows a listed origin every method a route can serve, PUT, PATCH and DELETE included, unless cors.methods says otherwise', async () => {
      await using h = await bootHttp({ listen: true, port: 0, cors: { origin: ['https://shop.example'], maxAge: 600 } }, [resources])
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const answer = await preflight(h.server.url!, 'https://shop.example', method)
        expect(answer.status).toBe(204)
        expect(answer.headers.get('access-control-allow-origin')).toBe('https://shop.example')
        expect(answer.headers.get('access-control-allow-methods')?.split(/,\s*/)).toEqual(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
        expect(answer.headers.get('access-control-max-age')).toBe('600')
      }
      const deleted = await fetch(`${h.server.url!}/orders/7`, { method: 'DELETE', headers: { origin: 'https://shop.example' } })
      expect(deleted.status).toBe(204)
      expect(deleted.headers.get('access-control-allow-origin')).toBe('https://shop.example')

      await using narrow = await bootHttp({ listen: true, port: 0, cors: { origin: /^https:\/\/[a-z]+\.example$/, methods: ['GET'] } }, [resources])
      const answer = await preflight(narrow.server.url!, 'https://shop.example', 'DELETE')
      expect(answer.headers.get('access-control-allow-origin')).toBe('https://shop.example')
      expect(answer.headers.get('access-control-allow-methods')).toBe('GET')
    })

    it('sends an origin that is not listed no CORS headers at all, preflight or request, and still varies on Origin', async () => {
      await using h = await bootHttp({ listen: true, port: 0, cors: { origin: ['https://shop.example'], maxAge: 600, credentials: true } }, [resources])
      const refused = await preflight(h.server.url!, 'https://evil.example', 'DELETE')
      expect(corsHeaders(refused)).toEqual([])
      // Without CORS the preflight is an OPTIONS request like any other: this path serves GET, PUT, PATCH and DELETE.
      expect(refused.status).toBe(405)
      expect(refused.headers.get('allow')).toBe('GET, HEAD, PUT, PATCH, DELETE')
      expect(refused.headers.get('vary')).toContain('Origin')
      const request = await fetch(`${h.server.url!}/orders/7`, { headers: { origin: 'https://evil.example' } })
      expect(request.status).toBe(200)
      expect(corsHeaders(request)).toEqual([])
      expect(request.headers.get('vary')).toContain('Origin')
      // A fixed origin is a list of one: only that origin gets headers.
      await using fixed = await bootHttp({ listen: true, port: 0, cors: { origin: 'https://shop.example' } }, [resources])
      expect(corsHeaders(await preflight(fixed.server.url!, 'https://evil.example', 'PUT'))).toEqual([])
      expect((await preflight(fixed.server.url!, 'https://shop.example', 'PUT')).headers.get('access-control-allow-origin')).toBe('https://shop.example')
    })

    it('still answers every origin when origin is *', async () => {
      await using h = await bootHttp({ listen: true, port: 0, cors: { origin: '*' } }, [resources])
      const answer = await preflight(h.server.url!, 'https://anyone.example', 'PATCH')
      expect(answer.status).toBe(204)
      expect(answer.headers.get('access-control-allow-origin')).toBe('*')
      expect(answer.headers.get('access-control-allow-methods')).toContain('PATCH')
    })
  })

  it('limits requests per client with a 429 problem and Retry-After, and never limits the probes', async () => {
    await using h = await bootHttp({ rateLimit: { max: 2, timeWindow: 60_000 } }, [routes])
    const from = (ip: string) => ({ url: '/hello', remoteAddress: ip })
    expect((await h.server.fastify.inject(from('10.0.0.1'))).statusCode).toBe(200)
    expect((await h.server.fastify.inject(from('10.0.0.1'))).statusCode).toBe(200)
    const limited = await h.server.fastify.inject(from('10.0.0.1'))
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['content-type']).toBe(PROBLEM_JSON)
    expect(Number(limited.headers['retry-after'])).toBe(60)
    // The same member name as every 503 (`retryAfter`, seconds), matching the header.
    expect(limited.json()).toMatchObject({ retryAfter: 60, type: 'urn:plinth:problem:rate-limited', status: 429, title: 'Too Many Requests', detail: 'more than 2 requests from this client; retry in 1 minute' })
    // Another client has its own budget; probes have none.
    expect((await h.server.fastify.inject(from('10.0.0.2'))).statusCode).toBe(200)
    for (let i = 0; i < 5; i++) expect((await h.server.fastify.inject({ url: '/health/live', remoteAddress: '10.0.0.1' })).statusCode).toBe(200)
  })
})

describe('OpenAPI', () => {
  it('builds the document from route schemas and serves the docs page', async () => {
    await using h = await bootHttp({}, [routes])
    const document = (await h.server.fastify.inject('/docs/json')).json<{ openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, { summary?: string }>> }>()
    expect(document.openapi).toBe('3.1.0')
    expect(document.info).toMatchObject({ title: 'http-test', version: '1.0.0' })
    expect(document.paths['/orders']?.post?.summary).toBe('Place an order')
    expect(document.paths['/health/ready']?.get).toBeDefined()
    const page = await h.server.fastify.inject('/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toContain('text/html')
  })

  it('can be turned off', async () => {
    await using h = await bootHttp({ docs: false }, [routes])
    expect((await h.server.fastify.inject('/docs/json')).statusCode).toBe(404)
  })

  it('is off in production unless asked for', async () => {
    const production = { env: { APP_ENV: 'production' }, shutdown: { drainDelay: 0 } }
    await using quiet = await bootHttp({}, [routes], production)
    expect((await quiet.server.fastify.inject('/docs/json')).statusCode).toBe(404)
    await using asked = await bootHttp({ docs: {} }, [routes], production)
    expect((await asked.server.fastify.inject('/docs/json')).statusCode).toBe(200)
  })
})
