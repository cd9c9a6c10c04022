import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accessor, component, Metrics, PlinthError, provide, token } from '@plinth/core'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpProblem, PROBLEM_JSON, Routes } from '../src/index.js'
import { bootHttp } from './harness.js'

const generatedId = /^[0-9a-f]{12}-[0-9a-z]+$/

const hello = provide(Routes, { value: (http) => void http.get('/hello', () => ({ hello: 'world' })) })

describe('routes and the request scope', () => {
  it('serves the routes modules contribute, as functions or prefixed groups', async () => {
    const greeter = component('greeter', { create: () => ({ greet: (name: string) => `hello ${name}` }) })
    const greetings = provide(Routes, {
      deps: { greeter },
      create: ({ greeter }) => ({
        prefix: '/greetings',
        register: (http) => {
          http.get<{ Params: { name: string } }>('/:name', (request) => ({ message: greeter.greet(request.params.name) }))
        },
      }),
    })
    await using h = await bootHttp({}, [greeter, hello, greetings])
    expect((await h.server.fastify.inject('/hello')).json()).toEqual({ hello: 'world' })
    expect((await h.server.fastify.inject('/greetings/ada')).json()).toEqual({ message: 'hello ada' })
  })

  it('runs each handler in its own request scope, disposed when the response is done', async () => {
    const disposed: number[] = []
    let next = 0
    const RequestState = token('request-state').of<{ id: number }>()
    const state = provide(RequestState, { lifetime: 'scoped', create: () => ({ id: ++next }), dispose: (s) => void disposed.push(s.id) })
    const audit = component('audit', { deps: { state: accessor(RequestState) }, create: ({ state }) => ({ current: () => state().id }) })
    const routes = provide(Routes, {
      deps: { audit },
      create: ({ audit }) => (http) => {
        http.post('/work', async () => {
          const before = audit.current()
          await new Promise((resolve) => setTimeout(resolve, 5))
          return { before, after: audit.current() }
        })
      },
    })
    await using h = await bootHttp({}, [state, audit, routes])
    const [a, b] = await Promise.all([h.server.fastify.inject({ method: 'POST', url: '/work', payload: { x: 1 } }), h.server.fastify.inject({ method: 'POST', url: '/work', payload: { x: 2 } })])
    const bodies = [a.json<{ before: number; after: number }>(), b.json<{ before: number; after: number }>()]
    for (const body of bodies) expect(body.after).toBe(body.before)
    expect(new Set(bodies.map((body) => body.before)).size).toBe(2)
    await expect.poll(() => [...disposed].sort()).toEqual([1, 2])
  })
})

describe('request ids and the access log', () => {
  it('gives handlers a request.log that carries the request id', async () => {
    const routes = provide(Routes, {
      value: (http) => {
        http.get('/noisy', (request) => {
          request.log.info({ step: 1 }, 'handling')
          return { ok: true }
        })
      },
    })
    await using h = await bootHttp({}, [routes])
    await h.server.fastify.inject({ url: '/noisy', headers: { 'x-request-id': 'child-1' } })
    expect(h.lines.find((line) => line.msg === 'handling')).toMatchObject({ reqId: 'child-1', component: 'http-server', step: 1 })
  })

  it('opens no request scope when no provider lives in one', async () => {
    let seen: unknown = 'unset'
    const routes = provide(Routes, { value: (http) => void http.get('/plain', (request) => ((seen = request.scope), { ok: true })) })
    await using h = await bootHttp({}, [routes])
    await h.server.fastify.inject('/plain')
    expect(seen).toBeUndefined()
  })

  it('honours a safe incoming X-Request-Id and returns it', async () => {
    await using h = await bootHttp({}, [hello])
    const response = await h.server.fastify.inject({ url: '/hello', headers: { 'x-request-id': 'trace-42' } })
    expect(response.headers['x-request-id']).toBe('trace-42')
  })

  it('generates one when it is absent or unsafe to log', async () => {
    await using h = await bootHttp({}, [hello])
    const ids = await Promise.all([1, 2, 3].map(async () => (await h.server.fastify.inject('/hello')).headers['x-request-id']))
    for (const id of ids) expect(id).toMatch(generatedId)
    expect(new Set(ids).size).toBe(3)
    const forged = await h.server.fastify.inject({ url: '/hello', headers: { 'x-request-id': 'a\u2028"level":60 '.repeat(2) } })
    expect(forged.headers['x-request-id']).toMatch(generatedId)
    // Another server (or process) draws another prefix.
    await using other = await bootHttp({}, [hello])
    const prefix = (id: unknown) => String(id).split('-')[0]
    expect(prefix((await other.server.fastify.inject('/hello')).headers['x-request-id'])).not.toBe(prefix(ids[0]))
  })

  it('writes one access-log line per request, with the request id, status and duration', async () => {
    await using h = await bootHttp({}, [hello], { env: { APP_ENV: 'staging' } })
    await h.server.fastify.inject({ url: '/hello?x=1', headers: { 'x-request-id': 'log-me' } })
    await expect.poll(() => h.lines.filter((line) => line.reqId === 'log-me')).toHaveLength(1)
    const line = h.lines.find((l) => l.reqId === 'log-me')!
    expect(line).toMatchObject({ level: 30, component: 'http-server', method: 'GET', url: '/hello?x=1', route: '/hello', statusCode: 200 })
    expect(line.durationMs).toEqual(expect.any(Number))
    expect(line.msg).toBe('request completed')
  })

  it('in development writes access lines at debug, so that requests do not drown the rest of a terminal; accessLog names the level', async () => {
    await using quiet = await bootHttp({}, [hello], { env: { APP_ENV: 'development' } })
    await quiet.server.fastify.inject({ url: '/hello', headers: { 'x-request-id': 'dev-1' } })
    await using loud = await bootHttp({ accessLog: 'info' }, [hello], { env: { APP_ENV: 'development' } })
    await loud.server.fastify.inject({ url: '/hello', headers: { 'x-request-id': 'dev-2' } })
    await expect.poll(() => loud.lines.filter((line) => line.reqId === 'dev-2')).toHaveLength(1)
    expect(quiet.lines.filter((line) => line.reqId === 'dev-1')).toEqual([])
  })
})

describe('over real connections', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('logs and measures each response when it has finished, to a batched file destination, and survives a URL Fastify answers itself', async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-http-'))
    const file = join(dir, 'app.log')
    const destination = pino.destination({ dest: file, sync: true })
    const routes = provide(Routes, {
      value: (http) => {
        http.get('/slow', async () => {
          await new Promise((resolve) => setTimeout(resolve, 25))
          return { done: true }
        })
        // Node's own listener only: the server adds none per response.
        http.get('/listeners', (_request, reply) => ({ finish: reply.raw.listenerCount('finish'), close: reply.raw.listenerCount('close') }))
        http.register(async (plugin) => plugin.log.info('a plugin logging'))
      },
    })
    await using h = await bootHttp({ listen: true, port: 0, accessLog: 'info' }, [routes], { logging: pino({ level: 'info' }, destination) })
    const started = Date.now()
    const response = await fetch(`${h.server.url}/slow`, { headers: { 'x-request-id': 'real-1' } })
    expect(await response.json()).toEqual({ done: true })
    expect(await (await fetch(`${h.server.url}/listeners`)).json()).toEqual({ finish: 1, close: 0 })
    // A malformed URL: Fastify answers 400 before routing it, and the server goes on.
    const { connect } = await import('node:net')
    const url = new URL(h.server.url!)
    const socket = connect(Number(url.port), url.hostname)
    let raw = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk))
    socket.write('GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await expect.poll(() => raw).toMatch(/^HTTP\/1\.1 400/)
    socket.destroy()
    expect((await fetch(`${h.server.url}/slow`, { headers: { 'x-request-id': 'real-2' } })).status).toBe(200)
    const { body } = await (await h.t.resolve(Metrics)).render()
    expect(body).toContain('http_server_request_duration_seconds_count{http_request_method="GET",http_route="/slow",http_response_status_code="200"} 2')
    await h[Symbol.asyncDispose]()
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    const access = lines.filter((line) => line.route === '/slow')
    expect(access.map((line) => line.reqId)).toEqual(['real-1', 'real-2'])
    expect(access[0]).toMatchObject({ component: 'http-server', method: 'GET', url: '/slow', statusCode: 200 })
    // The handler's 25 ms are in the duration; the line is dated by the wall clock when the response ended.
    expect(access[0]!.durationMs).toBeGreaterThanOrEqual(24)
    expect(access[0]!.time).toBeGreaterThanOrEqual(started + 24)
    expect(access[0]!.time).toBeLessThanOrEqual(Date.now())
    expect(lines.find((line) => line.msg === 'a plugin logging')).toMatchObject({ component: 'http-server' })
    destination.end()
  })
})

describe('the request scope over real connections', () => {
  it('ends the scope after the response\'s onResponse hooks have run', async () => {
    const RequestState = token('request-state').of<{ id: number }>()
    const disposed: number[] = []
    const state = provide(RequestState, { lifetime: 'scoped', create: () => ({ id: 1 }), dispose: (s) => void disposed.push(s.id) })
    const audit = component('audit', { deps: { state: accessor(RequestState) }, create: ({ state }) => ({ current: () => state().id }) })
    const seen: (boolean | undefined)[] = []
    const routes = provide(Routes, {
      deps: { audit },
      create: ({ audit }) => (http) => {
        http.get('/scoped', { onResponse: (request, _reply, done) => (seen.push(request.scope?.disposed), done()) }, () => ({ id: audit.current() }))
      },
    })
    await using h = await bootHttp({ listen: true, port: 0 }, [state, audit, routes])
    expect(await (await fetch(`${h.server.url}/scoped`)).json()).toEqual({ id: 1 })
    await expect.poll(() => disposed).toEqual([1])
    expect(seen).toEqual([false])
  })
})

describe('pipelined requests and route log levels', () => {
  it('answers and logs every request a client pipelines on one connection, in order', async () => {
    const routes = provide(Routes, { value: (http) => void http.get<{ Params: { n: string } }>('/echo/:n', async (request) => ({ n: request.params.n })) })
    await using h = await bootHttp({ listen: true, port: 0, accessLog: 'info' }, [routes])
    const { connect } = await import('node:net')
    const url = new URL(h.server.url!)
    const socket = connect(Number(url.port), url.hostname)
    let received = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk))
    const ask = (n: number) => `GET /echo/${n} HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-${n}\r\n\r\n`
    socket.write(ask(1) + ask(2) + ask(3))
    await expect.poll(() => received.match(/\{"n":"\d"\}/g)).toEqual(['{"n":"1"}', '{"n":"2"}', '{"n":"3"}'])
    socket.destroy()
    await expect.poll(() => h.lines.filter((line) => line.route === '/echo/:n').map((line) => [line.reqId, line.statusCode, line.aborted])).toEqual([
      ['pipe-1', 200, undefined],
      ['pipe-2', 200, undefined],
      ['pipe-3', 200, undefined],
    ])
  })

  it('gives request.log the route\'s logLevel', async () => {
    const routes = provide(Routes, {
      value: (http) => {
        http.get('/chatty', { logLevel: 'debug' }, (request) => (request.log.debug('chatty detail'), { ok: true }))
        http.get('/plain', (request) => (request.log.debug('plain detail'), { ok: true }))
      },
    })
    await using h = await bootHttp({}, [routes])
    await h.server.fastify.inject('/chatty')
    await h.server.fastify.inject('/plain')
    expect(h.lines.filter((line) => String(line.msg).endsWith('detail')).map((line) => line.msg)).toEqual(['chatty detail'])
  })
})

describe('problem details', () => {
  const routes = provide(Routes, {
    value: (http) => {
      http.get('/orders/:id', () => {
        throw new HttpProblem(404, { detail: 'no order 7; list them at /orders', extensions: { orderId: '7' } })
      })
      http.post(
        '/orders',
        { schema: { body: { type: 'object', required: ['name', 'quantity'], properties: { name: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } } } } },
        () => ({ ok: true }),
      )
      http.get('/orders/:id/refund', () => {
        throw new PlinthError('PLINTH_ERR_CIRCUIT_OPEN', 'the "payments" circuit is open after 3 failures')
      })
      http.post('/quotes', () => {
        throw Object.assign(new Error('invalid quote'), { issues: [{ path: ['lines', 0, 'sku'], message: 'Required' }] })
      })
      http.get('/crash', () => {
        throw new Error('database password is hunter2')
      })
      http.get('/slow', () => {
        throw Object.assign(new Error('the payments service took longer than 2 s'), { name: 'TimeoutError' })
      })
    },
  })

  it('answers a thrown HttpProblem as application/problem+json with every member', async () => {
    await using h = await bootHttp({}, [routes])
    const response = await h.server.fastify.inject({ url: '/orders/7', headers: { 'x-request-id': 'r1' } })
    expect(response.statusCode).toBe(404)
    expect(response.headers['content-type']).toBe(PROBLEM_JSON)
    expect(response.json()).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'no order 7; list them at /orders', instance: '/orders/7', requestId: 'r1', orderId: '7' })
  })

  it('lists each invalid field of a validation error with a JSON pointer', async () => {
    await using h = await bootHttp({}, [routes])
    const response = await h.server.fastify.inject({ method: 'POST', url: '/orders', payload: { quantity: 0 } })
    expect(response.statusCode).toBe(400)
    const problem = response.json<{ errors: { pointer: string; detail: string }[]; type: string; detail: string }>()
    expect(problem.type).toBe('urn:plinth:problem:validation-failed')
    expect(problem.errors).toEqual([
      { pointer: '#/body/name', detail: "must have required property 'name'" },
      { pointer: '#/body/quantity', detail: 'must be >= 1' },
    ])
    expect(problem.detail).toBe("2 fields are invalid: body/name must have required property 'name'; body/quantity must be >= 1")
  })

  it('answers an unknown path with 404 and a known path with the wrong method with 405 and Allow', async () => {
    await using h = await bootHttp({}, [routes])
    const missing = await h.server.fastify.inject('/nowhere')
    expect(missing.statusCode).toBe(404)
    expect(missing.headers['content-type']).toBe(PROBLEM_JSON)
    expect(missing.json()).toMatchObject({ status: 404, detail: 'no route for GET /nowhere', instance: '/nowhere' })
    const wrong = await h.server.fastify.inject({ method: 'DELETE', url: '/orders/7' })
    expect(wrong.statusCode).toBe(405)
    expect(wrong.headers.allow).toBe('GET, HEAD')
    expect(wrong.json()).toMatchObject({ status: 405, title: 'Method Not Allowed', detail: 'DELETE is not allowed on /orders/7; use GET, HEAD' })
  })

  it('answers malformed JSON and oversized bodies with 4xx problems', async () => {
    await using h = await bootHttp({ bodyLimit: 64 }, [routes])
    const malformed = await h.server.fastify.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/json' }, payload: '{"name":' })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.headers['content-type']).toBe(PROBLEM_JSON)
    const large = await h.server.fastify.inject({ method: 'POST', url: '/orders', payload: { name: 'x'.repeat(100), quantity: 1 } })
    expect(large.statusCode).toBe(413)
    expect(large.json()).toMatchObject({ status: 413, title: 'Payload Too Large', limit: 64 })
    expect(large.json().detail).toBe("the body is larger than the 64 bytes this route accepts; send less, or raise the limit (the server's bodyLimit option, or the route's)")
  })

  it('answers an open circuit with 503 and a schema library\'s issues with 400 and one pointer each', async () => {
    await using h = await bootHttp({ exposeErrors: false }, [routes])
    const unavailable = await h.server.fastify.inject('/orders/7/refund')
    expect(unavailable.statusCode).toBe(503)
    expect(unavailable.json()).toMatchObject({ status: 503, title: 'Service Unavailable', detail: 'A service this request needs is unavailable or too slow; retry later.', retryAfter: 5 })
    expect(unavailable.headers['retry-after']).toBe('5')
    const invalid = await h.server.fastify.inject({ method: 'POST', url: '/quotes', payload: {} })
    expect(invalid.statusCode).toBe(400)
    expect(invalid.json()).toMatchObject({ type: 'urn:plinth:problem:validation-failed', errors: [{ pointer: '#/lines/0/sku', detail: 'Required' }] })
  })

  it('hides the message and stack of a server error outside development, and logs it', async () => {
    await using h = await bootHttp({ exposeErrors: false }, [routes])
    const response = await h.server.fastify.inject({ url: '/crash', headers: { 'x-request-id': 'boom' } })
    expect(response.statusCode).toBe(500)
    const problem = response.json<Record<string, unknown>>()
    expect(problem).toMatchObject({ status: 500, title: 'Internal Server Error', requestId: 'boom' })
    expect(JSON.stringify(problem)).not.toContain('hunter2')
    expect(problem.stack).toBeUndefined()
    expect(h.lines.some((line) => line.level === 50 && line.reqId === 'boom' && String(line.msg).includes('hunter2'))).toBe(true)
  })

  it('shows the message and stack in development', async () => {
    await using h = await bootHttp({ exposeErrors: true }, [routes])
    const problem = (await h.server.fastify.inject('/crash')).json<{ detail: string; stack: string[] }>()
    expect(problem.detail).toBe('database password is hunter2')
    expect(problem.stack[0]).toBe('Error: database password is hunter2')
  })

  it('shows the message but no stack of an expected 503 or 504 in development: a stack is for a fault (500)', async () => {
    await using h = await bootHttp({ exposeErrors: true }, [routes])
    const unavailable = await h.server.fastify.inject('/orders/7/refund')
    expect(unavailable.statusCode).toBe(503)
    expect(unavailable.headers['retry-after']).toBe('5')
    const problem = unavailable.json<Record<string, unknown>>()
    expect(problem).toMatchObject({ status: 503, detail: 'the "payments" circuit is open after 3 failures', retryAfter: 5 })
    expect(problem).not.toHaveProperty('stack')
    const slow = await h.server.fastify.inject('/slow')
    expect(slow.statusCode).toBe(504)
    expect(slow.json()).toMatchObject({ status: 504, detail: 'the payments service took longer than 2 s' })
    expect(slow.json()).not.toHaveProperty('stack')
  })
})
