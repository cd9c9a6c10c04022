import type { MetricsRegistry } from '@plinth/core'
import type { ServiceDiscovery } from './discovery.js'
import { discoveryErrors } from './errors.js'

/** Options of {@link ServiceHttpClient}. */
export interface HttpClientOptions {
  /** Deadline of one attempt, in milliseconds. Default 10 000. */
  timeout?: number
  /** Further attempts on other instances for an idempotent call. Default 2. */
  retries?: number
  /** Which of an instance's addresses serves HTTP. Default `http`. */
  address?: string
  /** Requests, errors and latency per service and instance. */
  metrics?: MetricsRegistry
}

/** `fetch`'s init, plus what the client needs to know about the call. */
export interface ServiceRequestInit extends RequestInit {
  /** Retry a non-idempotent method too (it has an idempotency key, say). */
  idempotent?: boolean
  /** The consistent-hashing key (a user id, a client IP). */
  key?: string
  /** Overrides the client's timeout for this call. */
  timeout?: number
}

const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
// Answers that say "this instance cannot serve now", worth one more try elsewhere.
const retryableStatus = new Set([502, 503, 504])

interface ClientMetrics {
  requests: ReturnType<MetricsRegistry['counter']>
  errors: ReturnType<MetricsRegistry['counter']>
  duration: ReturnType<MetricsRegistry['histogram']>
}

/**
 * An HTTP client shaped like `fetch` that resolves `http://<service>/path` through discovery: it
 * picks an instance with the service's strategy, applies a timeout per attempt, retries an
 * idempotent call (GET, HEAD, OPTIONS, PUT, DELETE) on another instance after a network error,
 * a timeout or a 502/503/504, feeds each outcome to the instance's circuit breaker, and counts
 * requests, errors and latency per service and instance.
 *
 * @example
 * const client = new ServiceHttpClient(discovery, { timeout: 2_000, metrics })
 * const response = await client.fetch('http://orders/api/v1/orders/42')
 * const order = await response.json()
 */
export class ServiceHttpClient {
  readonly #discovery: ServiceDiscovery
  readonly #timeout: number
  readonly #retries: number
  readonly #address: string
  readonly #metrics: ClientMetrics | undefined

  constructor(discovery: ServiceDiscovery, options: HttpClientOptions = {}) {
    this.#discovery = discovery
    this.#timeout = options.timeout ?? 10_000
    this.#retries = options.retries ?? 2
    this.#address = options.address ?? 'http'
    for (const [name, value] of [['timeout', this.#timeout], ['retries', this.#retries]] as const) {
      if (!Number.isInteger(value) || value < (name === 'timeout' ? 1 : 0)) {
        throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_OPTION', `ServiceHttpClient: ${name} must be ${name === 'timeout' ? 'a positive' : 'a non-negative'} integer; got ${String(value)}`, { details: { option: name } })
      }
    }
    const metrics = options.metrics
    this.#metrics = metrics && {
      requests: metrics.counter({ name: 'discovery_client_requests_total', help: 'Requests sent to discovered instances, by response status', labelNames: ['service', 'instance', 'status'] }),
      errors: metrics.counter({ name: 'discovery_client_errors_total', help: 'Attempts that failed: network error, timeout or 5xx', labelNames: ['service', 'instance', 'reason'] }),
      duration: metrics.histogram({ name: 'discovery_client_request_duration_seconds', help: 'Duration of each attempt', labelNames: ['service', 'instance'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }),
    }
  }

  /** Sends the request to an instance of the service named by the URL's host. */
  async fetch(input: string | URL, init: ServiceRequestInit = {}): Promise<Response> {
    const url = new URL(input)
    const service = url.hostname
    const method = (init.method ?? 'GET').toUpperCase()
    const { idempotent, key, timeout, ...requestInit } = init
    // A streamed body can be sent once only; anything else can be sent again elsewhere.
    const replayable = init.body === undefined || init.body === null || typeof init.body === 'string' || init.body instanceof URLSearchParams || init.body instanceof ArrayBuffer || ArrayBuffer.isView(init.body) || init.body instanceof Blob
    const attempts = (idempotent ?? idempotentMethods.has(method)) && replayable ? 1 + this.#retries : 1
    const tried = new Set<string>()
    const failures: string[] = []
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let lease
      try {
        lease = await this.#discovery.acquire(service, { exclude: tried, ...(key === undefined ? {} : { key }) })
      } catch (error) {
        if (failures.length === 0 || !discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_NO_INSTANCE')) throw error
        break
      }
      const { instance } = lease
      tried.add(instance.id)
      const base = instance.addresses[this.#address]
      if (base === undefined) {
        lease.release('success')
        failures.push(`${instance.id}: has no "${this.#address}" address`)
        continue
      }
      const target = new URL(`${url.pathname}${url.search}`, base)
      const deadline = AbortSignal.timeout(timeout ?? this.#timeout)
      const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline
      const started = performance.now()
      try {
        const response = await fetch(target, { ...requestInit, method, signal })
        this.#observe(service, instance.id, started, String(response.status))
        if (retryableStatus.has(response.status) && attempt < attempts) {
          lease.release('failure', new Error(`answered ${response.status}`))
          this.#metrics?.errors.inc({ service, instance: instance.id, reason: String(response.status) })
          failures.push(`${instance.id}: answered ${response.status}`)
          await response.body?.cancel()
          continue
        }
        lease.release(response.status >= 500 ? 'failure' : 'success', new Error(`answered ${response.status}`))
        return response
      } catch (error) {
        const timedOut = deadline.aborted && !(init.signal?.aborted ?? false)
        this.#observe(service, instance.id, started, timedOut ? 'timeout' : 'error')
        this.#metrics?.errors.inc({ service, instance: instance.id, reason: timedOut ? 'timeout' : 'network' })
        lease.release('failure', error)
        // The caller's own abort is not the instance's fault and is not retried.
        if (init.signal?.aborted) throw error
        const why = timedOut ? `no answer within ${timeout ?? this.#timeout} ms` : describe(error)
        failures.push(`${instance.id} (${base}): ${why}`)
        if (attempt === attempts && attempts === 1 && timedOut) {
          throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_TIMEOUT', `${method} ${url.href}: ${instance.id} (${base}) gave ${why}`, { cause: error, details: { service, instance: instance.id } })
        }
      }
    }
    const retried = attempts > 1 ? '' : ` (${method} is not idempotent or its body is a stream: not retried; pass idempotent: true if it is safe)`
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_REQUEST_FAILED', `${method} ${url.href} failed on every instance tried${retried}: ${failures.join('; ')}`, {
      details: { service, failures },
    })
  }

  #observe(service: string, instance: string, started: number, status: string): void {
    if (!this.#metrics) return
    this.#metrics.requests.inc({ service, instance, status })
    this.#metrics.duration.observe({ service, instance }, (performance.now() - started) / 1_000)
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  // undici's "fetch failed" hides the reason in its cause (ECONNREFUSED, ECONNRESET...).
  const cause = error.cause as { code?: string; message?: string } | undefined
  return cause?.code ? `${error.message} (${cause.code})` : cause?.message ? `${error.message} (${cause.message})` : error.message
}
