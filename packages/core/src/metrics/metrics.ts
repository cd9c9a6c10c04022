import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration, type Metric } from 'prom-client'
import { PlinthError } from '../errors.js'
import type { EventStream, LifecycleEvent } from '../lifecycle/events.js'
import { BoundHistogram } from './histogram.js'

export interface MetricsOptions {
  /** Process and Node.js metrics (prom-client's defaults, less the three it names wrongly). Default true. */
  defaults?: boolean
  /** Labels added to every series, e.g. `{ region: 'eu-west-1' }`. */
  labels?: Record<string, string>
  /** Buckets of `http_server_request_duration_seconds`. Default: OpenTelemetry's advice for it. */
  httpBuckets?: number[]
}

/**
 * prom-client's defaults that `promtool check metrics` rejects: gauges named like counters.
 * They are dropped, not renamed, because each is the sum of its labelled sibling
 * (`sum(nodejs_active_handles)` is the handle count).
 */
export const droppedDefaultMetrics = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const

/** OpenTelemetry's advised buckets for http.server.request.duration, in seconds. */
export const httpDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

const PROMETHEUS: string = Registry.PROMETHEUS_CONTENT_TYPE
const OPENMETRICS: string = Registry.OPENMETRICS_CONTENT_TYPE

/** A rendered scrape. */
export interface Exposition {
  readonly contentType: string
  readonly body: string
}

type HttpLabels = 'http_request_method' | 'http_route' | 'http_response_status_code'

/**
 * The app's metrics: one prom-client registry per app (never the global one, so that several
 * apps and tests do not collide), with process and Node.js defaults, the lifecycle metrics,
 * the HTTP metrics named as OpenTelemetry's semantic conventions export them to Prometheus, and
 * whatever components add through the `Metrics` token.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `app_info` | gauge (1) | app, version |
 * | `app_startup_duration_seconds` | gauge | |
 * | `app_component_start_duration_seconds` | gauge | component |
 * | `app_service_status` | gauge: 1 up, 0.5 degraded, 0 down, -1 unknown | service |
 * | `app_health_check_failures_total` | counter | service |
 * | `app_active_connections` | gauge | server_type |
 * | `http_server_request_duration_seconds` | histogram | http_request_method, http_route, http_response_status_code |
 * | `http_server_active_requests` | gauge | http_request_method |
 *
 * @example
 * component('orders', {
 *   deps: { metrics: Metrics },
 *   create: ({ metrics }) => {
 *     const placed = metrics.counter({ name: 'orders_placed_total', help: 'Orders placed', labelNames: ['channel'] })
 *     return { place: (channel: string) => placed.inc({ channel }) }
 *   },
 * })
 */
export class MetricsRegistry {
  readonly registry = new Registry()
  readonly app: {
    readonly info: Gauge<'app' | 'version'>
    readonly startupDuration: Gauge
    readonly componentStartDuration: Gauge<'component'>
    readonly serviceStatus: Gauge<'service'>
    readonly healthCheckFailures: Counter<'service'>
    readonly activeConnections: Gauge<'server_type'>
  }
  readonly http: {
    readonly requestDuration: BoundHistogram<HttpLabels>
    readonly activeRequests: Gauge<'http_request_method'>
  }
  readonly #beforeCollect: Array<() => void> = []
  #rendering: Promise<unknown> = Promise.resolve()

  constructor(options: MetricsOptions = {}) {
    if (options.labels) this.registry.setDefaultLabels(options.labels)
    if (options.defaults ?? true) {
      collectDefaultMetrics({ register: this.registry })
      for (const name of droppedDefaultMetrics) this.registry.removeSingleMetric(name)
    }
    const hooks = this.#beforeCollect
    this.app = {
      info: this.gauge({ name: 'app_info', help: 'The application and its version; always 1', labelNames: ['app', 'version'] }),
      startupDuration: this.gauge({ name: 'app_startup_duration_seconds', help: 'Time from start() to ready' }),
      componentStartDuration: this.gauge({ name: 'app_component_start_duration_seconds', help: 'Time each component took to build and start', labelNames: ['component'] }),
      serviceStatus: this.gauge({
        name: 'app_service_status',
        help: 'Health of each dependency: 1 up, 0.5 degraded, 0 down, -1 unknown',
        labelNames: ['service'],
        collect() {
          for (const hook of hooks) hook()
        },
      }),
      healthCheckFailures: this.counter({ name: 'app_health_check_failures_total', help: 'Health check runs that found the dependency down', labelNames: ['service'] }),
      activeConnections: this.gauge({ name: 'app_active_connections', help: 'Open client connections per server', labelNames: ['server_type'] }),
    }
    this.http = {
      requestDuration: this.boundHistogram({
        name: 'http_server_request_duration_seconds',
        help: 'Duration of HTTP server requests',
        labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
        buckets: options.httpBuckets ?? httpDurationBuckets,
      }),
      activeRequests: this.gauge({ name: 'http_server_active_requests', help: 'Number of active HTTP server requests', labelNames: ['http_request_method'] }),
    }
  }

  /** Registers a counter; its name must end in `_total`. Registering the same declaration again returns the first. */
  counter<L extends string = string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return this.#register('counter', config, () => new Counter({ ...config, registers: [this.registry] }))
  }

  /** Registers a gauge; its name must not end in `_total`. */
  gauge<L extends string = string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return this.#register('gauge', config, () => new Gauge({ ...config, registers: [this.registry] }))
  }

  /** Registers a histogram; name it with its unit (`_seconds`, `_bytes`). */
  histogram<L extends string = string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return this.#register('histogram', config, () => new Histogram({ ...config, registers: [this.registry] }))
  }

  /**
   * Registers a histogram whose label sets are bound once (`series(labels)`), for hot paths
   * where prom-client's per-observe label hashing would show; see BoundHistogram.
   */
  boundHistogram<L extends string = string>(config: { name: string; help: string; labelNames?: readonly L[]; buckets?: readonly number[] }): BoundHistogram<L> {
    return this.#register('histogram', config, () => {
      const histogram = new BoundHistogram<L>({ ...config, buckets: config.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] })
      // The registry reads a metric through get(), name, help, type and aggregator, which BoundHistogram has.
      this.registry.registerMetric(histogram as unknown as Metric)
      return histogram
    })
  }

  /** Runs `hook` before every scrape, to set gauges from live state. */
  beforeCollect(hook: () => void): () => void {
    this.#beforeCollect.push(hook)
    return () => {
      const at = this.#beforeCollect.indexOf(hook)
      if (at >= 0) this.#beforeCollect.splice(at, 1)
    }
  }

  /**
   * The exposition for a scrape: OpenMetrics when `accept` asks for it, the Prometheus text
   * format otherwise.
   */
  render(accept?: string): Promise<Exposition> {
    const open = accept !== undefined && /application\/openmetrics-text/i.test(accept)
    // prom-client renders OpenMetrics by renaming counters in place (dropping `_total`), so two
    // renders must not interleave and the names are put back afterwards.
    const next = this.#rendering.then(() => (open ? this.#renderOpenMetrics() : this.#renderPrometheus()))
    this.#rendering = next.catch(() => undefined)
    return next
  }

  /** Feeds the lifecycle metrics from an app's events, past (`timeline`) and future. */
  observeLifecycle(events: EventStream<LifecycleEvent>, timeline: readonly LifecycleEvent[] = []): () => void {
    const observe = (event: LifecycleEvent) => {
      if (event.type === 'component-started') this.app.componentStartDuration.set({ component: event.component }, event.duration / 1000)
      else if (event.type === 'ready') this.app.startupDuration.set(event.duration / 1000)
    }
    for (const event of timeline) observe(event)
    return events.subscribe(observe)
  }

  async #renderPrometheus(): Promise<Exposition> {
    return { contentType: PROMETHEUS, body: await this.registry.metrics() }
  }

  async #renderOpenMetrics(): Promise<Exposition> {
    const names = this.registry.getMetricsAsArray().map((metric) => [metric, (metric as unknown as { name: string }).name] as const)
    const registry = this.registry as unknown as { setContentType(type: string): void; metrics(): Promise<string> }
    registry.setContentType(OPENMETRICS)
    try {
      return { contentType: OPENMETRICS, body: await registry.metrics() }
    } finally {
      registry.setContentType(PROMETHEUS)
      for (const [metric, name] of names) (metric as unknown as { name: string }).name = name
    }
  }

  #register<M>(type: 'counter' | 'gauge' | 'histogram', config: { name: string; labelNames?: readonly string[] }, make: () => M): M {
    const { name } = config
    const problem = nameProblem(type, name)
    if (problem) throw new PlinthError('PLINTH_ERR_INVALID_METRIC', `metric "${name}": ${problem}`)
    const existing = this.registry.getSingleMetric(name) as unknown as { type?: string; labelNames?: readonly string[] } | undefined
    if (existing) {
      const sameLabels = [...(existing.labelNames ?? [])].sort().join() === [...(config.labelNames ?? [])].sort().join()
      if (existing.type === type && sameLabels) return existing as M
      throw new PlinthError('PLINTH_ERR_INVALID_METRIC', `metric "${name}" is already registered as a ${existing.type ?? 'metric'} with labels [${(existing.labelNames ?? []).join(', ')}]`, {
        hint: 'Pick another name, or declare it once with the same type and labels and share it.',
      })
    }
    return make()
  }
}

/** Why promtool would reject the name, or undefined when it would not. */
function nameProblem(type: 'counter' | 'gauge' | 'histogram', name: string): string | undefined {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) return 'names are snake_case: lower-case letters, digits and underscores, not starting with a digit'
  if (type === 'counter' && !name.endsWith('_total')) return `a counter's name ends in _total; call it "${name}_total"`
  if (type !== 'counter' && name.endsWith('_total')) return `only counters end in _total; drop the suffix for a ${type}`
  if (type === 'histogram' && /_(bucket|count|sum)$/.test(name)) return 'a histogram name must not end in _bucket, _count or _sum; those are its series'
  return undefined
}
