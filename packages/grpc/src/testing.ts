/**
 * @plinth/grpc/testing: real gRPC clients for tests of a Plinth gRPC server, made from the same
 * .proto files the server loads, with the loader options the server uses.
 */
import { credentials, loadPackageDefinition, type Client } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { protoPath as healthProto } from 'grpc-health-check'

/** A generated client: its methods by name, as the proto declares them. */
export type GrpcTestClient = Client & Record<string, (...args: any[]) => any>

const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }

/**
 * An insecure client of `service` (fully qualified: `greet.v1.Greeter`) declared in `proto`,
 * connected to the server at `url` (`grpc://127.0.0.1:50051` as the server announces it, or
 * `host:port`). Close it with `client.close()`.
 *
 * @example
 * const greeter = grpcTestClient('proto/greeter.proto', 'greet.v1.Greeter', app.endpoints().find((e) => e.name === 'grpc')!.url)
 * greeter.SayHello({ name: 'Ada' }, (error, reply) => console.log(reply.message))
 * greeter.close()
 */
export function grpcTestClient(proto: string, service: string, url: string, options: { includeDirs?: string[] } = {}): GrpcTestClient {
  let node: any = loadPackageDefinition(loadSync(proto, { ...loaderOptions, includeDirs: options.includeDirs ?? [] }))
  for (const part of service.split('.')) {
    node = node?.[part]
    if (node === undefined) throw new TypeError(`${proto} declares no service ${service}`)
  }
  const Constructor = node as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => GrpcTestClient
  return new Constructor(url.replace(/^grpc:\/\//, ''), credentials.createInsecure())
}

/**
 * A client of the standard health service (`grpc.health.v1.Health`) every Plinth gRPC server serves.
 *
 * @example
 * const health = grpcHealthClient(url)
 * health.Check({ service: '' }, (error, response) => console.log(response.status)) // SERVING
 */
export function grpcHealthClient(url: string): GrpcTestClient {
  return grpcTestClient(healthProto, 'grpc.health.v1.Health', url)
}
