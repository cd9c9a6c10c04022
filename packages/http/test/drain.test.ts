import { Agent, request, type IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import { provide } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { Routes } from '../src/index.js'
import { bootHttp } from './harness.js'

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
  socket: Socket
}

function get(url: string, agent: Agent | false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const socket = res.socket
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('draining at shutdown', () => {
  it('turns readiness 503 at once, serves through the drain delay, then stops accepting, finishes in-flight requests with Connection: close and closes idle connections', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let entered!: () => void
    const slowEntered = new Promise<void>((resolve) => (entered = resolve))
    const routes = provide(Routes, {
      value: (http) => {
        http.get('/hello', () => ({ hello: 'world' }))
        http.get('/slow', async () => {
          entered()
          await gate
          return { slow: true }
        })
      },
    })
    await using h = await bootHttp({ listen: true, port: 0 }, [routes], { shutdown: { drainDelay: 300, timeout: 10_000 } })
    const base = h.server.url!

    // An idle keep-alive connection, and a slow request in flight on another.
    const idleAgent = new Agent({ keepAlive: true })
    const idle = await get(`${base}/hello`, idleAgent)
    expect(idle.headers.connection).toBe('keep-alive')
    let idleClosed = false
    idle.socket.once('close', () => (idleClosed = true))
    const slow = get(`${base}/slow`, new Agent({ keepAlive: true }))
    await slowEntered

    const stopping = h.t.app.stop('test')
    // Readiness is false from the first moment; the server still serves, closing each connection after its response.
    const ready = await get(`${base}/health/ready`, false)
    expect(ready.status).toBe(503)
    expect(JSON.parse(ready.body)).toEqual({ status: 'down', reasons: ['shutting down'] })
    const during = await get(`${base}/hello`, new Agent({ keepAlive: true }))
    expect(during.status).toBe(200)
    expect(during.headers.connection).toBe('close')

    // Past the drain delay, once nothing has arrived for the quiet period (250 ms), the listener
    // closes: new connections are refused while /slow still runs.
    await expect.poll(() => get(`${base}/hello`, false).then(() => 'accepted', (error: NodeJS.ErrnoException) => error.code), { timeout: 5_000, interval: 400 }).toBe('ECONNREFUSED')
    expect(idleClosed).toBe(true)
    release()
    const finished = await slow
    expect(finished.status).toBe(200)
    expect(JSON.parse(finished.body)).toEqual({ slow: true })
    expect(finished.headers.connection).toBe('close')
    const report = await stopping
    expect(report.failures).toEqual([])
    expect(report.unfinished).toEqual([])
  })

  it('keeps serving while requests keep arriving after the drain delay, and closes once they stop', async () => {
    const routes = provide(Routes, { value: (http) => void http.get('/hello', () => ({ hello: 'world' })) })
    await using h = await bootHttp({ listen: true, port: 0 }, [routes], { shutdown: { drainDelay: 0, timeout: 10_000 } })
    const base = h.server.url!
    expect((await get(`${base}/hello`, false)).status).toBe(200)
    const stopping = h.t.app.stop('test')
    // A client that has not noticed yet: a request every 50 ms for 600 ms, each on a new connection.
    const answers: number[] = []
    for (let i = 0; i < 12; i++) {
      const reply = await get(`${base}/hello`, false)
      expect(reply.headers.connection).toBe('close')
      answers.push(reply.status)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(answers.every((status) => status === 200)).toBe(true)
    const report = await stopping
    expect(report.failures).toEqual([])
    await expect(get(`${base}/hello`, false)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })

  it('cuts what is still running at the drain timeout, says so, and fails the stop', async () => {
    const routes = provide(Routes, { value: (http) => void http.get('/forever', () => new Promise(() => {})) })
    await using h = await bootHttp({ listen: true, port: 0, drainTimeout: 100 }, [routes])
    const hanging = get(`${h.server.url}/forever`, false).catch((error: NodeJS.ErrnoException) => error.code)
    await expect.poll(() => countConnections(h.server.fastify.server)).toBe(1)
    const report = await h.t.app.stop('test')
    expect(report.failures.map((f) => [f.component, (f.error as { code?: string }).code])).toEqual([['http-server', 'PLINTH_ERR_HTTP_DRAIN_CUT']])
    expect(await hanging).toBe('ECONNRESET')
    expect(h.lines.some((line) => line.level === 40 && /requests still running after the 100 ms drain timeout; closing 1 connection/.test(String(line.msg)))).toBe(true)
  })
})

function countConnections(server: import('node:http').Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_error, count) => resolve(count)))
}
