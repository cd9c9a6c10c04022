import { spawnSync } from 'node:child_process'
import { Metrics, metricsServer, provide } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { Routes } from '../src/index.js'
import { bootHttp } from './harness.js'

const promtoolMissing = spawnSync('promtool', ['--version']).error !== undefined
if (promtoolMissing && process.env.PLINTH_REQUIRE_SERVICES === '1') throw new Error('promtool is required (PLINTH_REQUIRE_SERVICES=1) but not installed: apt-get install prometheus')

const routes = provide(Routes, {
  value: (http) => {
    http.get<{ Params: { id: string } }>('/orders/:id', (request) => ({ id: request.params.id }))
  },
})

describe('HTTP metrics', () => {
  it('records each request under OpenTelemetry\'s names: method, route template and status code', async () => {
    await using h = await bootHttp({}, [routes])
    await h.server.fastify.inject('/orders/1')
    await h.server.fastify.inject('/orders/2')
    await h.server.fastify.inject('/missing')
    await h.server.fastify.inject({ method: 'PURGE' as 'GET', url: '/orders/1' })
    const { body } = await (await h.t.resolve(Metrics)).render()
    expect(body).toContain('http_server_request_duration_seconds_count{http_request_method="GET",http_route="/orders/:id",http_response_status_code="200"} 2')
    expect(body).toContain('http_server_request_duration_seconds_count{http_request_method="GET",http_route="",http_response_status_code="404"} 1')
    expect(body).toMatch(/http_server_request_duration_seconds_count\{http_request_method="_OTHER",.*\} 1/)
  })

  it('counts requests in flight in http_server_active_requests, and lets them go when they finish or their client leaves', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let entered = 0
    const slow = provide(Routes, {
      value: (http) => {
        http.get('/slow', async () => {
          entered++
          await gate
          return { done: true }
        })
      },
    })
    await using h = await bootHttp({ listen: true, port: 0, accessLog: 'info' }, [slow])
    const metrics = await h.t.resolve(Metrics)
    const active = async () => /http_server_active_requests\{http_request_method="GET"\} (\d+)/.exec((await metrics.render()).body)?.[1]
    const { request } = await import('node:http')
    const get = () => request(`${h.server.url}/slow`, { agent: false })
    const finishing = new Promise<string>((resolve, reject) => get().on('response', (res) => res.setEncoding('utf8').on('data', resolve)).on('error', reject).end())
    // A client that goes away: its connection closes while the handler still runs.
    const leaving = get().on('error', () => {})
    leaving.end()
    await expect.poll(() => entered).toBe(2)
    expect(await active()).toBe('2')
    leaving.destroy()
    await expect.poll(active).toBe('1')
    release()
    expect(JSON.parse(await finishing)).toEqual({ done: true })
    await expect.poll(active).toBe('0')
    const lines = h.lines.filter((line) => line.route === '/slow')
    expect(lines.map((line) => line.msg)).toEqual(['request aborted', 'request completed'])
    expect(lines[0]).toMatchObject({ aborted: true, reqId: expect.any(String) })
    expect(lines[1]!.aborted).toBeUndefined()
  })

  it('counts open connections as app_active_connections{server_type="http"}', async () => {
    await using h = await bootHttp({ listen: true, port: 0 }, [routes])
    const metrics = await h.t.resolve(Metrics)
    const { Agent, request } = await import('node:http')
    const agent = new Agent({ keepAlive: true })
    await new Promise<void>((resolve, reject) => request(`${h.server.url}/orders/1`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject).end())
    expect((await metrics.render()).body).toContain('app_active_connections{server_type="http"} 1')
    agent.destroy()
    await expect.poll(async () => (await metrics.render()).body).toContain('app_active_connections{server_type="http"} 0')
  })

  it('serves /metrics on the HTTP port when asked, OpenMetrics included', async () => {
    await using h = await bootHttp({ metrics: true }, [routes])
    const plain = await h.server.fastify.inject('/metrics')
    expect(plain.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(plain.body).toContain('# TYPE http_server_request_duration_seconds histogram')
    const open = await h.server.fastify.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } })
    expect(open.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8')
    expect(open.body.endsWith('# EOF\n')).toBe(true)
  })

  it.skipIf(promtoolMissing)('passes promtool check metrics after real traffic, scraped from METRICS_PORT', async () => {
    await using h = await bootHttp({ listen: true, port: 0 }, [routes, metricsServer({ port: 0 })])
    for (const path of ['/orders/1', '/missing', '/health/ready']) await (await fetch(`${h.server.url}${path}`)).text()
    const scrape = h.t.app.endpoints().find((e) => e.name === 'metrics')!.url
    const exposition = await (await fetch(scrape)).text()
    expect(exposition).toContain('http_route="/orders/:id"')
    const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' })
    expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({ status: 0, output: '' })
  })
})
