import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js'
import type { App, HealthRegistry, Logger } from '@plinth/core'

export type ServingStatus = 'SERVING' | 'NOT_SERVING'

/** A service whose status depends on named health checks. */
export interface WatchedService {
  readonly service: string
  readonly checks?: readonly string[]
}

interface Request {
  readonly service: string
}
type Watch = ServerWritableStream<Request, { status: string }>

/**
 * The standard `grpc.health.v1.Health` service, fed by Plinth's health registry:
 *
 * - `""`: the app's readiness (booted, not shutting down, every critical check up);
 * - each registered gRPC service: readiness and each health check the service names;
 * - each health check, by its name: its own status (up or degraded is SERVING).
 *
 * Check answers from a cache that the registry's events, the app's lifecycle and a one-second
 * tick keep current (so a stale check turns NOT_SERVING like readiness does). An unknown name is
 * NOT_FOUND from Check, SERVICE_UNKNOWN from Watch (which stays open, as the protocol says).
 * From the first moment of shutdown everything is NOT_SERVING; at stop, Watch streams end.
 *
 * @example
 * // grpc_health_probe -addr=127.0.0.1:50051 -service=greet.v1.Greeter
 * const health = grpcHealthClient(url)
 * health.Check({ service: 'greet.v1.Greeter' }, (error, response) => console.log(response.status)) // SERVING
 */
export class GrpcHealthService {
  readonly #app: App
  readonly #health: HealthRegistry
  readonly #services: readonly WatchedService[]
  readonly #log: Logger
  readonly #statuses = new Map<string, ServingStatus>()
  readonly #watches = new Map<string, Set<Watch>>()
  readonly #unsubscribe: Array<() => void> = []
  #tick: NodeJS.Timeout | undefined
  #frozen = false

  constructor(app: App, health: HealthRegistry, services: readonly WatchedService[], log: Logger) {
    this.#app = app
    this.#health = health
    this.#services = services
    this.#log = log
  }

  /** Computes the statuses and keeps them current until shutdown. */
  start(): void {
    const known = new Set(this.#health.names())
    for (const { service, checks = [] } of this.#services) {
      const missing = checks.filter((check) => !known.has(check))
      if (missing.length > 0) this.#log.warn({ service, missing }, `gRPC service ${service} depends on health checks that do not exist (${missing.join(', ')}); it will report NOT_SERVING`)
    }
    this.#unsubscribe.push(
      this.#health.events.subscribe(() => this.refresh()),
      this.#app.events.subscribe((event) => {
        if (event.type === 'shutdown-requested') this.#freeze()
        else if (event.type === 'ready') this.refresh()
      }),
    )
    this.#tick = setInterval(() => this.refresh(), 1_000)
    this.#tick.unref()
    this.refresh()
  }

  /** The current status of every known name. */
  statuses(): ReadonlyMap<string, ServingStatus> {
    return this.#statuses
  }

  /** Recomputes every status from the registry; watchers hear the ones that changed. */
  refresh(): void {
    if (this.#frozen) return
    const ready = this.#health.readiness().ok
    const checks = new Map(this.#health.report().checks.map((check) => [check.name, check.status === 'up' || check.status === 'degraded']))
    for (const [name, up] of checks) this.#set(name, ready && up ? 'SERVING' : 'NOT_SERVING')
    for (const { service, checks: needs = [] } of this.#services) {
      this.#set(service, ready && needs.every((check) => checks.get(check) === true) ? 'SERVING' : 'NOT_SERVING')
    }
    this.#set('', ready ? 'SERVING' : 'NOT_SERVING')
  }

  /** Ends every Watch stream (after NOT_SERVING, which shutdown-requested has sent). */
  stop(): void {
    this.#freeze()
    for (const watches of this.#watches.values()) for (const call of watches) call.end()
    this.#watches.clear()
  }

  /** The handlers of grpc.health.v1.Health. */
  handlers(): UntypedServiceImplementation {
    return {
      Check: (call: ServerUnaryCall<Request, unknown>, callback: sendUnaryData<unknown>) => {
        const current = this.#statuses.get(call.request.service)
        if (current === undefined) callback({ code: status.NOT_FOUND, details: `no health status for service "${call.request.service}"` })
        else callback(null, { status: current })
      },
      Watch: (call: Watch) => {
        const name = call.request.service
        let watches = this.#watches.get(name)
        if (watches === undefined) this.#watches.set(name, (watches = new Set()))
        watches.add(call)
        call.once('cancelled', () => watches.delete(call))
        call.write({ status: this.#statuses.get(name) ?? 'SERVICE_UNKNOWN' })
      },
      List: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        callback(null, { statuses: Object.fromEntries([...this.#statuses].map(([name, value]) => [name, { status: value }])) })
      },
    }
  }

  #freeze(): void {
    if (this.#frozen) return
    for (const name of this.#statuses.keys()) this.#set(name, 'NOT_SERVING')
    this.#frozen = true
    clearInterval(this.#tick)
    for (const off of this.#unsubscribe.splice(0)) off()
  }

  #set(name: string, value: ServingStatus): void {
    if (this.#statuses.get(name) === value) return
    this.#statuses.set(name, value)
    for (const call of this.#watches.get(name) ?? []) call.write({ status: value })
  }
}
