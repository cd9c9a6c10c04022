import { describe, expect, it } from 'vitest'
import { component, createApp, EventSpy, Health, HealthChecks, Metrics, metricsServer, provide, type HealthCheck } from '../src/index.js'
import { droppedDefaultMetrics, MetricsRegistry } from '../src/metrics/metrics.js'
import { startTestApp } from '../src/testing.js'
import { promtoolCheck, promtoolSkipReason } from './promtool.js'

const silent = { level: 'silent' } as const
const skipPromtool = promtoolSkipReason()

/** A small app whose metrics cover every kind of series: lifecycle, health, HTTP, a component's own. */
function observedApp(checks: HealthCheck[] = [{ name: 'db', check: () => 'up' }, { name: 'search', critical: false, check: () => 'down' }]) {
  const orders = component('orders', {
    eager: true,
    deps: { metrics: Metrics, health: Health },
    create: ({ metrics }) => {
      const placed = metrics.counter({ name: 'orders_placed_total', help: 'Orders placed', labelNames: ['channel'] })
      placed.inc({ channel: 'web' })
      metrics.http.requestDuration.observe({ http_request_method: 'GET', http_route: '/orders/:id', http_response_status_code: '200' }, 0.012)
      metrics.app.activeConnections.set({ server_type: 'http' }, 2)
      return { metrics }
    },
  })
  return createApp({ name: 'observed', version: '1.2.3', components: [orders, ...checks.map((c) => provide(HealthChecks, { value: c }))], logging: silent })
}

describe('the metrics registry', () => {
  it('gives each app its own registry, so two apps register the same names without colliding', () => {
    const a = new MetricsRegistry()
    const b = new MetricsRegistry()
    a.counter({ name: 'jobs_total', help: 'jobs' }).inc()
    expect(() => b.counter({ name: 'jobs_total', help: 'jobs' })).not.toThrow()
    expect(a.registry).not.toBe(b.registry)
  })

  it('drops the prom-client defaults promtool rejects, and keeps their labelled siblings', async () => {
    const { body } = await new MetricsRegistry().render()
    for (const name of droppedDefaultMetrics) expect(body).not.toContain(`# TYPE ${name} `)
    expect(body).toContain('# TYPE nodejs_active_handles gauge')
    expect(body).toContain('# TYPE process_cpu_seconds_total counter')
  })

  it('refuses names promtool would reject, saying what to call them', () => {
    const metrics = new MetricsRegistry({ defaults: false })
    expect(() => metrics.counter({ name: 'jobs_done', help: 'x' })).toThrow(/metric "jobs_done": a counter's name ends in _total; call it "jobs_done_total"/)
    expect(() => metrics.gauge({ name: 'queue_total', help: 'x' })).toThrow(/only counters end in _total/)
    expect(() => metrics.gauge({ name: 'Queue-Depth', help: 'x' })).toThrow(/snake_case/)
    expect(() => metrics.histogram({ name: 'latency_count', help: 'x' })).toThrow(/must not end in _bucket, _count or _sum/)
  })

  it('returns the same metric for the same declaration, and refuses a conflicting one', () => {
    const metrics = new MetricsRegistry({ defaults: false })
    const first = metrics.gauge({ name: 'queue_depth', help: 'x', labelNames: ['queue'] })
    expect(metrics.gauge({ name: 'queue_depth', help: 'x', labelNames: ['queue'] })).toBe(first)
    expect(() => metrics.histogram({ name: 'queue_depth', help: 'x' })).toThrow(/"queue_depth" is already registered as a gauge with labels \[queue\]/)
  })

  it('records startup and per-component start durations from the lifecycle events', async () => {
    await using t = await startTestApp(observedApp())
    const metrics = await t.resolve(Metrics)
    const { body } = await metrics.render()
    expect(body).toMatch(/^app_startup_duration_seconds \d+(\.\d+)?(e-\d+)?$/m)
    expect(body).toMatch(/^app_component_start_duration_seconds\{component="orders"\} /m)
    expect(body).toContain('app_info{app="observed",version="1.2.3"} 1')
  })

  it('shows each dependency\'s health and counts failed checks', async () => {
    await using t = await startTestApp(observedApp())
    const health = await t.resolve(Health)
    await health.checkNow()
    await health.checkNow()
    const { body } = await (await t.resolve(Metrics)).render()
    expect(body).toContain('app_service_status{service="db"} 1')
    expect(body).toContain('app_service_status{service="search"} 0')
    expect(body).toContain('app_health_check_failures_total{service="db"} 0')
    expect(body).toMatch(/app_health_check_failures_total\{service="search"\} [2-9]/)
  })

  it('renders OpenMetrics when the scraper asks, without breaking the next Prometheus scrape', async () => {
    await using t = await startTestApp(observedApp())
    const metrics = await t.resolve(Metrics)
    const [open, plain] = await Promise.all([metrics.render('application/openmetrics-text; version=1.0.0,text/plain;q=0.5'), metrics.render('text/plain')])
    expect(open.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8')
    expect(open.body.endsWith('# EOF\n')).toBe(true)
    expect(open.body).toContain('# TYPE orders_placed counter')
    expect(open.body).toContain('orders_placed_total{channel="web"} 1')
    expect(plain.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
    const again = await metrics.render()
    expect(again.body).toContain('# TYPE orders_placed_total counter')
    expect(again.body).not.toContain('# EOF')
  })

  it.skipIf(skipPromtool !== undefined)(`passes promtool check metrics, scraped from the metrics server over a socket${skipPromtool ? ` (skipped: ${skipPromtool})` : ''}`, async () => {
    const app = observedApp()
    await using t = await startTestApp(createApp({ name: 'scraped', version: '1.0.0', components: [metricsServer({ port: 0 }), ...app.providers()], logging: silent }))
    await (await t.resolve(Health)).checkNow()
    const url = t.app.endpoints().find((e) => e.name === 'metrics')?.url
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const response = await fetch(url!)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const body = await response.text()
    expect(body).toContain('http_server_request_duration_seconds_bucket{le="0.005",http_request_method="GET",http_route="/orders/:id",http_response_status_code="200"}')
    expect(promtoolCheck(body)).toEqual({ status: 0, output: '' })
  })
})

describe('the metrics server', () => {
  it('serves OpenMetrics on request, 404 elsewhere, 405 for other methods, and is announced in the ready event', async () => {
    const spy = new EventSpy()
    const app = createApp({ name: 'served', components: [metricsServer({ port: 0 })], logging: silent })
    app.events.subscribe(spy.listener)
    await using t = await startTestApp(app)
    const url = t.app.endpoints()[0]!.url
    expect(spy.of('ready')[0]?.endpoints).toEqual([{ name: 'metrics', url }])
    const open = await fetch(url, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })
    expect(open.headers.get('content-type')).toContain('application/openmetrics-text')
    expect(await open.text()).toMatch(/# EOF\n$/)
    const missing = await fetch(new URL('/nope', url))
    expect(missing.status).toBe(404)
    expect(await missing.text()).toContain('metrics are at /metrics')
    const post = await fetch(url, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('says which port is taken and which variable to change when it cannot listen', async () => {
    await using first = await startTestApp(createApp({ name: 'first', components: [metricsServer({ port: 0 })], logging: silent }))
    const port = Number(new URL(first.app.endpoints()[0]!.url).port)
    const second = createApp({ name: 'second', components: [metricsServer({ port })], logging: silent })
    await expect(startTestApp(second)).rejects.toThrow(new RegExp(`the metrics server cannot listen on 127.0.0.1:${port} \\(port from option\\): the port is already in use`))
  })
})
