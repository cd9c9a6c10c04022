import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Application, type App } from '../app/app.js'
import { Health, Metrics } from '../app/kernel-tokens.js'
import { listenAddress, urlOf } from '../server/listen-address.js'
import { bindNetServer, listenOn } from '../server/listener.js'
import type { MetricsRegistry } from './metrics.js'
import { component } from '../container/provider.js'
import { servesMetrics } from './endpoints.js'
import { listensOn } from '../server/port-check.js'

const addressDefaults = { key: 'metrics', env: 'METRICS_PORT', port: 9090 } as const
const listener = { server: 'metrics', ...addressDefaults } as const

export interface MetricsServerOptions {
  /** Default: config `metrics.port`, else METRICS_PORT, else 9090. 0 picks a free port. */
  port?: number
  /** Default: config `metrics.host`, else config `host`, else 127.0.0.1. */
  host?: string
  /** Default `/metrics`. */
  path?: string
}

/**
 * A scrape endpoint on its own port: node:http, nothing else, so that metrics stay reachable
 * when the main server is saturated and so that core needs no server library.
 *
 * @example
 * const server = new MetricsServer(app, metrics, { port: 0 })
 * const url = await server.listen() // http://127.0.0.1:40123/metrics
 * await server.close()
 */
export class MetricsServer {
  readonly #app: App
  readonly #metrics: MetricsRegistry
  readonly #options: MetricsServerOptions
  #server: Server | undefined
  #url = ''

  constructor(app: App, metrics: MetricsRegistry, options: MetricsServerOptions = {}) {
    this.#app = app
    this.#metrics = metrics
    this.#options = options
  }

  /** The scrape URL, once listening. */
  get url(): string {
    return this.#url
  }

  async listen(): Promise<string> {
    const { createServer } = await import('node:http')
    const server = createServer((req, res) => void this.#handle(req, res))
    server.keepAliveTimeout = 65_000
    const { bound } = await listenOn(this.#app, listener, this.#options, (address) => bindNetServer(server, address))
    this.#server = server
    this.#url = urlOf(bound, this.#options.path ?? '/metrics')
    this.#app.announce('metrics', this.#url)
    return this.#url
  }

  /** Stops accepting, lets a scrape in flight finish, and closes everything once `signal` fires. */
  async close(signal?: AbortSignal): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    signal?.addEventListener('abort', () => server.closeAllConnections(), { once: true })
    await closed
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== (this.#options.path ?? '/metrics')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: metrics are at ${this.#options.path ?? '/metrics'}\n`)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed: use GET\n')
      return
    }
    try {
      const { contentType, body } = await this.#metrics.render(req.headers.accept)
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body)
    } catch (error) {
      this.#app.logger.error({ err: error }, 'rendering metrics failed')
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('rendering metrics failed; see the service log\n')
    }
  }
}

/**
 * The Prometheus scrape endpoint as a component: add it to an app and metrics are served on
 * METRICS_PORT (default 9090). It depends on the health registry, so that
 * `app_service_status` and `app_health_check_failures_total` are fed even without an HTTP server.
 *
 * @example
 * export const app = createApp({ name: 'orders', components: [metricsServer(), httpServer()] })
 * // curl http://127.0.0.1:9090/metrics
 */
export function metricsServer(options: MetricsServerOptions = {}) {
  const provider = listensOn(component('metrics-server', {
    eager: true,
    deps: { app: Application, metrics: Metrics, health: Health },
    create: ({ app, metrics }) => new MetricsServer(app, metrics, options),
    start: async (server) => {
      await server.listen()
    },
    stop: (server, { signal }) => server.close(signal),
    health: (server) => (server.url ? { status: 'up', details: { url: server.url } } : 'down'),
  }), listener, options)
  const where = `GET ${options.path ?? '/metrics'} on the metrics server (${options.port === undefined ? 'METRICS_PORT, default 9090' : `port ${options.port}`})`
  return servesMetrics(provider, where, ({ env, config }) => ({ ...listenAddress({ config: { value: config }, env }, addressDefaults, options), path: options.path ?? '/metrics' }))
}
