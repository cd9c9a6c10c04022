import { Application, Health, Logger, component, listensOn } from '@plinth/core'
import { GrpcServer, grpcListener, type GrpcServerOptions } from './server.js'
import { GrpcServices } from './services.js'

/**
 * The gRPC server as a component: eager, listening on GRPC_PORT (default 50051), serving every
 * service registered with `grpcService`, plus grpc.health.v1 and reflection; healthy while it
 * serves (its readiness check is named "grpc-server"); draining at shutdown.
 *
 * @example
 * export const app = createApp({
 *   name: 'greetings',
 *   components: [grpcServer()],
 *   modules: [greetings], // contributes grpcService(...)
 * })
 * // grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check
 */
export function grpcServer(options: GrpcServerOptions = {}) {
  const provider = component('grpc-server', {
    eager: true,
    deps: { app: Application, services: GrpcServices, health: Health, log: Logger },
    create: ({ app, services, health, log }) => new GrpcServer({ app, services, health, log }, options),
    start: async (server) => {
      await server.listen()
    },
    stop: (server, { signal }) => server.close(signal),
    health: (server) => (server.listening ? { status: 'up', details: { url: server.url, activeCalls: server.activeCalls } } : 'down'),
  })
  return listensOn(provider, grpcListener, options)
}
