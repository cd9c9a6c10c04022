import { createApp, type PreflightReport } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { httpServer, type HttpServerOptions } from '../src/index.js'

const silent = { level: 'silent' } as const
const row = (report: PreflightReport, category: string, name: string) => report.results.find((r) => r.category === category && r.name === name)
const run = (options: HttpServerOptions, appEnv = 'production') =>
  createApp({ name: 'api', logging: silent, components: [httpServer({ listen: false, ...options })] }).preflight({ env: { APP_ENV: appEnv }, only: ['security', 'performance'] })

describe('the HTTP preflight', () => {
  it('a production server behind a trusted proxy, with listed origins and rate limits, passes every check', async () => {
    const report = await run({ cors: { origin: ['https://shop.example'], credentials: true }, rateLimit: { max: 100, timeWindow: '1 minute' }, trustProxy: '10.0.0.1' })
    expect(report.results.map((r) => [r.name, r.status])).toEqual([
      ['CORS', 'pass'],
      ['rate limits', 'pass'],
      ['TLS or trusted proxy', 'pass'],
      ['HSTS', 'pass'],
      ['docs and error details', 'pass'],
      ['HTTP limits and timeouts', 'pass'],
    ])
    expect(row(report, 'security', 'CORS')!.found).toBe('https://shop.example, with credentials')
  })

  it('CORS * with credentials fails, reading origins from the configuration function at run time', async () => {
    const report = await run({ cors: () => ({ origin: '*', credentials: true }), rateLimit: { max: 100 }, trustProxy: true })
    expect(row(report, 'security', 'CORS')).toMatchObject({ status: 'fail', found: expect.stringContaining('any origin with credentials'), fix: expect.stringContaining('list the allowed origins') })
    expect(report.results.filter((r) => r.status !== 'pass').map((r) => r.name)).toEqual(['CORS'])
  })

  it('in production: no rate limit, plain HTTP with no proxy, HSTS never sent, error details, long bodies and a short keep-alive', async () => {
    const report = await run({ exposeErrors: true, bodyLimit: 64 * 1024 * 1024, keepAliveTimeout: 5_000 })
    expect(row(report, 'security', 'rate limits')).toMatchObject({ status: 'warn', found: 'off' })
    expect(row(report, 'security', 'TLS or trusted proxy')).toMatchObject({ status: 'warn', found: 'plain HTTP and no trusted proxy' })
    expect(row(report, 'security', 'HSTS')).toMatchObject({ status: 'warn', found: expect.stringContaining('never sent') })
    expect(row(report, 'security', 'docs and error details')).toMatchObject({ status: 'fail', found: expect.stringContaining('exposeErrors') })
    expect(row(report, 'performance', 'HTTP limits and timeouts')).toMatchObject({ status: 'warn', found: expect.stringMatching(/bodyLimit 64 MiB.*keepAliveTimeout 5000 ms/) })
  })

  it('in development the same server passes the production-only checks', async () => {
    const report = await run({}, 'development')
    expect(report.results.filter((r) => r.category === 'security').every((r) => r.status === 'pass')).toBe(true)
  })
})

describe('the monitoring check of metrics served on the HTTP server', () => {
  const metricsRow = (components: Parameters<typeof createApp>[0]['components']) =>
    createApp({ name: 'api', logging: silent, components }).preflight({ env: { APP_ENV: 'production' }, only: 'monitoring' }).then((report) => row(report, 'monitoring', 'metrics endpoint'))

  it('GET /metrics on the HTTP server counts as the endpoint, and the registry is scraped', async () => {
    expect(await metricsRow([httpServer({ listen: false, metrics: { path: '/internal/metrics' } })])).toMatchObject({
      status: 'pass',
      found: expect.stringMatching(/^GET \/internal\/metrics on the HTTP server: scraped [1-9]\d* samples$/),
    })
  })

  it('an HTTP server without metrics, and no metrics server, warns in production with the two ways to expose them', async () => {
    expect(await metricsRow([httpServer({ listen: false })])).toMatchObject({ status: 'warn', found: 'nothing serves the metrics', fix: expect.stringContaining('httpServer({ metrics: true })') })
  })
})
