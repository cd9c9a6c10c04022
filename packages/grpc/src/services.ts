import { fileURLToPath } from 'node:url'
import { accessor, token, provide, type Token } from '@plinth/core'
import type { Metadata } from '@grpc/grpc-js'
import type { Options as LoaderOptions } from '@grpc/proto-loader'

/** What every method of an implementation receives beside its request(s). */
export interface GrpcContext {
  /** The call's request metadata (headers). */
  readonly metadata: Metadata
  /** Fires when the client cancels, the deadline passes, or the server is forced down. */
  readonly signal: AbortSignal
  /** The client's address, as gRPC reports it (`ipv4:127.0.0.1:53412`). */
  readonly peer: string
  /** The full method path, `/greet.v1.Greeter/SayHello`. */
  readonly path: string
  /** Sends response metadata (headers) before the first response. */
  sendMetadata(metadata: Metadata): void
}

/**
 * A method of a service implementation, by the shape of the RPC:
 * - unary: `(request, ctx) => response`
 * - server streaming: `(request, ctx) => AsyncIterable<response>` (an async generator)
 * - client streaming: `(requests: AsyncIterable, ctx) => response`
 * - bidirectional: `(requests: AsyncIterable, ctx) => AsyncIterable<response>`
 *
 * Throwing (or rejecting) ends the call with the status of the error mapping (see `toGrpcStatus`).
 */
export type GrpcMethod = (request: any, context: GrpcContext) => unknown

/** A service implementation: one function per RPC, named as in the .proto (`SayHello`) or in lower camel case (`sayHello`). */
export type GrpcImplementation = Record<string, GrpcMethod>

export interface GrpcServiceSpec {
  /** The .proto file(s): paths or file URLs (`new URL('./greeter.proto', import.meta.url)`). */
  readonly proto: string | URL | ReadonlyArray<string | URL>
  /** The service's fully qualified name: `greet.v1.Greeter`. */
  readonly service: string
  /**
   * The implementation, resolved in a new request scope for every call, so it may be scoped
   * or depend on scoped components.
   */
  readonly implementation: Token<GrpcImplementation>
  /**
   * Health checks this service needs: its grpc.health.v1 status is SERVING only while the app is
   * ready and each of these is up or degraded. Default: the app's readiness alone.
   */
  readonly checks?: readonly string[]
  /**
   * How the files load and messages convert, as @grpc/proto-loader's options (`keepCase`, `longs`,
   * `enums`, `bytes`, `defaults`, `arrays`, `objects`, `oneofs`, `includeDirs`) with the same
   * meaning. Default `{ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }`.
   */
  readonly loader?: LoaderOptions
}

/** A registered service, as the server sees it. */
export interface GrpcServiceRegistration extends Omit<GrpcServiceSpec, 'proto'> {
  readonly proto: readonly string[]
}

/**
 * The gRPC services that modules contribute, with `grpcService(...)`.
 */
export const GrpcServices = token('grpc-services').many<GrpcServiceRegistration>()

/**
 * Registers a service from a .proto file. The implementation is a token: a component (often
 * scoped) whose methods serve the RPCs, resolved in a request scope per call.
 *
 * @example
 * const GreeterImpl = component('greeter-impl', {
 *   lifetime: 'scoped',
 *   deps: { greeter },
 *   create: ({ greeter }) => ({
 *     SayHello: ({ name }: { name: string }) => ({ message: greeter.greet(name) }),
 *     async *StreamGreetings({ name }: { name: string }) { yield { message: `hi ${name}` } },
 *   }),
 * })
 * export const greeterService = grpcService({
 *   proto: new URL('./greeter.proto', import.meta.url),
 *   service: 'greet.v1.Greeter',
 *   implementation: GreeterImpl,
 *   checks: ['database'],
 * })
 * // module: defineModule({ id: 'greetings', components: [GreeterImpl, greeterService] })
 */
export function grpcService<const N extends string>(spec: GrpcServiceSpec & { readonly implementation: Token<GrpcImplementation, N> }) {
  const files = (Array.isArray(spec.proto) ? spec.proto : [spec.proto]) as Array<string | URL>
  const proto = files.map((file) => (file instanceof URL || file.startsWith('file:') ? fileURLToPath(file) : file))
  const registration: GrpcServiceRegistration = { ...spec, proto }
  // The accessor only declares the edge, so that graph validation (and createApp's type check,
  // through N) reports a missing implementation.
  return provide(GrpcServices, { deps: { implementation: accessor(spec.implementation) }, create: () => registration })
}
