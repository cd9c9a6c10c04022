import { createRequire } from 'node:module'
import { Server, ServerCredentials, setLogger, type ChannelOptions, type ServiceDefinition } from '@grpc/grpc-js'
import type { Options as LoaderOptions } from '@grpc/proto-loader'
import { PlinthError, listenOn, type App, type HealthRegistry, type ListenAddress, type Logger } from '@plinth/core'
import { bindService, type CallTracker } from './calls.js'
import { GrpcHealthService } from './health-service.js'
import { importProtobuf, loadRoot, serviceDefinition, serviceNames, type ProtobufModule } from './protos.js'
import { addReflection } from './reflection.js'
import type { GrpcServiceRegistration } from './services.js'
import { grpcErrors } from './errors.js'

export interface GrpcServerOptions {
  /** Default: config `grpc.port`, else GRPC_PORT, else 50051. 0 picks a free port. */
  port?: number
  /** Default: config `grpc.host`, else config `host`, else 127.0.0.1. */
  host?: string
  /** Default: insecure (plaintext, for a mesh or a local port); pass ServerCredentials.createSsl(...) for TLS. */
  credentials?: ServerCredentials
  /** Serve grpc.reflection (v1 and v1alpha) so that grpcurl and Postman discover the services. Default true. */
  reflection?: boolean
  /** grpc-js server options, e.g. `{ 'grpc.max_receive_message_length': 4 * 1024 * 1024 }`. */
  channelOptions?: ChannelOptions
  /**
   * At shutdown, how long calls in flight get to finish before the server is forced down, in
   * ms; the stop deadline cuts it shorter. Default 5 000.
   */
  drainTimeout?: number
}

export interface GrpcServerDeps {
  readonly app: App
  readonly services: readonly GrpcServiceRegistration[]
  readonly health: HealthRegistry
  readonly log: Logger
}

/** proto-loader options matching what grpc-js's own examples and grpc-health-check use. */
export const defaultLoaderOptions: LoaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }

/** Where the gRPC server listens, as listenOn and the port check before start read it. */
export const grpcListener = { server: 'gRPC', key: 'grpc', env: 'GRPC_PORT', port: 50051 } as const

// The standard health proto, from the file grpc-health-check ships. The package itself is not
// imported: its entry parses that proto at import (loadSync) for a handler Plinth does not use.
const healthProtoPath = createRequire(import.meta.url).resolve('grpc-health-check/proto/health/v1/health.proto')

/**
 * The gRPC server: the modules' services, the standard health service fed by the health
 * registry, and reflection. At shutdown the health service turns NOT_SERVING and ends its Watch
 * streams, calls in flight finish (tryShutdown), and whatever is left when the drain time is up
 * is cancelled (forceShutdown).
 *
 * @example
 * const server = grpcServer({ port: 0 })
 * await using t = await startTestApp(createApp({ name: 'greeter', components: [server, greeterService] }))
 * console.log(t.get(server).url) // grpc://127.0.0.1:40123
 */
export class GrpcServer {
  readonly #deps: GrpcServerDeps
  readonly #options: GrpcServerOptions
  readonly #inFlight: CallTracker = new Set()
  #server: Server | undefined
  #healthService: GrpcHealthService | undefined
  #url = ''
  #closing = false

  constructor(deps: GrpcServerDeps, options: GrpcServerOptions = {}) {
    this.#deps = deps
    this.#options = options
  }

  /** `grpc://host:port`, once listening. */
  get url(): string {
    return this.#url
  }

  get listening(): boolean {
    return this.#server !== undefined && !this.#closing
  }

  /** Calls running now. */
  get activeCalls(): number {
    return this.#inFlight.size
  }

  /** The health service, once listening. */
  get health(): GrpcHealthService | undefined {
    return this.#healthService
  }

  /** Loads every service, binds the port, and starts serving; resolves with the URL. */
  async listen(): Promise<string> {
    const { app, services, health, log } = this.#deps
    quietGrpcLogs(log)
    const server = new Server(this.#options.channelOptions)
    const seen = new Set<string>()
    for (const registration of services) {
      if (seen.has(registration.service)) {
        throw new PlinthError('PLINTH_ERR_DUPLICATE_HANDLER', `the gRPC service ${registration.service} is registered twice`, { details: { service: registration.service } })
      }
      seen.add(registration.service)
    }
    // protobufjs loads here, not at import, so an app pays for it while its other components
    // start; the services' protos and the health proto are read and parsed side by side.
    const protobuf = await importProtobuf()
    const healthService = { proto: [healthProtoPath], service: 'grpc.health.v1.Health', loader: defaultLoaderOptions }
    const [definitions, healthDefinition] = await Promise.all([Promise.all(services.map((registration) => loadService(protobuf, registration))), loadService(protobuf, healthService)])
    for (const [i, definition] of definitions.entries()) {
      server.addService(definition, bindService(definition, services[i]!, app.container, log, this.#inFlight))
    }
    this.#healthService = new GrpcHealthService(app, health, services, log)
    server.addService(healthDefinition, this.#healthService.handlers())
    // Reflection covers the services and the health service, and is made on its first call.
    if (this.#options.reflection ?? true) addReflection(server, [...services.map(({ proto, loader }) => ({ proto, loader: { ...defaultLoaderOptions, ...loader } })), healthService])
    const credentials = this.#options.credentials ?? ServerCredentials.createInsecure()
    const { address, bound: port } = await listenOn(app, grpcListener, this.#options, (at) => bind(server, at, credentials))
    this.#server = server
    const host = address.host.includes(':') ? `[${address.host}]` : address.host
    this.#url = `grpc://${host}:${port}`
    this.#healthService.start()
    app.announce('grpc', this.#url)
    log.info({ url: this.#url, services: [...seen] }, `gRPC server listening on ${this.#url}`)
    return this.#url
  }

  /**
   * Ends the health Watch streams, lets calls in flight finish within `drainTimeout` (or until
   * `signal` fires), then stops listening; calls still running then are cancelled and the close
   * fails (PLINTH_ERR_GRPC_DRAIN_CUT), so that a shutdown that cut work short exits non-zero.
   */
  async close(signal?: AbortSignal): Promise<void> {
    const server = this.#server
    if (server === undefined || this.#closing) return
    this.#closing = true
    this.#healthService?.stop()
    const grace = AbortSignal.any([AbortSignal.timeout(this.#options.drainTimeout ?? 5_000), ...(signal ? [signal] : [])])
    let onAbort: (() => void) | undefined
    const expired = new Promise<false>((resolve) => grace.addEventListener('abort', (onAbort = () => resolve(false)), { once: true }))
    // The listener stays open while calls in flight finish: a client's health Check meanwhile
    // reads NOT_SERVING instead of finding the port closed, and a call that starts in the
    // meantime is served. tryShutdown would refuse new calls (GOAWAY) at once.
    while (this.#inFlight.size > 0 && !grace.aborted) await Promise.race([Promise.allSettled([...this.#inFlight]), expired])
    const drained = new Promise<true>((resolve) => server.tryShutdown(() => resolve(true)))
    const clean = grace.aborted ? false : await Promise.race([drained, expired])
    if (onAbort) grace.removeEventListener('abort', onAbort)
    this.#server = undefined
    if (!clean) {
      const cut = this.#inFlight.size
      this.#deps.log.warn({ calls: cut }, `gRPC calls still running when the drain time ran out; cancelling ${cut}`)
      server.forceShutdown()
      throw grpcErrors.create('PLINTH_ERR_GRPC_DRAIN_CUT', `${cut} gRPC call(s) still running when the ${this.#options.drainTimeout ?? 5_000} ms drain time ran out were cancelled`, { details: { calls: cut } })
    }
  }
}

async function loadService(protobuf: ProtobufModule, registration: Pick<GrpcServiceRegistration, 'proto' | 'service' | 'loader'>): Promise<ServiceDefinition> {
  const options = { ...defaultLoaderOptions, ...registration.loader }
  let root: Awaited<ReturnType<typeof loadRoot>>
  try {
    root = await loadRoot(protobuf, registration.proto, options)
  } catch (error) {
    throw grpcErrors.create('PLINTH_ERR_INVALID_GRPC_SERVICE', `cannot load ${registration.proto.join(', ')} for ${registration.service}: ${(error as Error).message}`, { cause: error })
  }
  const definition = serviceDefinition(protobuf, root, registration.service, options)
  if (definition === undefined) {
    const available = serviceNames(protobuf, root)
    throw grpcErrors.create(
      'PLINTH_ERR_INVALID_GRPC_SERVICE',
      `${registration.proto.join(', ')} has no service named ${registration.service}; it has: ${available.join(', ') || '(no services)'}`,
      { details: { service: registration.service, available } },
    )
  }
  return definition
}

function bind(server: Server, address: ListenAddress, credentials: ServerCredentials): Promise<number> {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${address.port}`, credentials, (error, port) => {
      if (error) reject(withSocketCode(error))
      else resolve(port)
    })
  })
}

/**
 * grpc-js reports a failed bind as "No address added out of total 1 resolved errors: [listen
 * EADDRINUSE: ...]", without the socket's code: the code is taken back from the message, so that
 * the listen failure says "the port is already in use" as every other server's does.
 */
function withSocketCode(error: Error): Error {
  const code = /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(error.message)?.[1]
  // The socket's own error, once: "listen EADDRINUSE: address already in use 127.0.0.1:50051", as node:net servers report it.
  const socket = /\[(listen [^\]]+)\]/.exec(error.message)?.[1]
  return code === undefined ? error : Object.assign(new Error(socket ?? error.message), { code })
}

/**
 * grpc-js writes its own errors to standard error ("E No address added ..."), beside the app's
 * logs and in another format: they go to the app's log at debug instead, unless GRPC_VERBOSITY
 * asks grpc-js for its own output.
 */
function quietGrpcLogs(log: Logger): void {
  if (process.env.GRPC_VERBOSITY !== undefined) return
  setLogger({ error: (...args: unknown[]) => log.debug({ grpc: args.map(String).join(' ') }, 'grpc-js') })
}
