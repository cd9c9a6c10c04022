/**
 * @plinth/grpc: Plinth's gRPC server. Services that modules register from .proto files, with
 * implementations resolved in a request scope per call; errors mapped to gRPC status codes; the
 * standard grpc.health.v1 service fed by the health registry; reflection; draining at shutdown.
 */
export { grpcErrors } from './errors.js'
export { grpcServer } from './component.js'
export { GrpcHealthService, type ServingStatus, type WatchedService } from './health-service.js'
export { GrpcServer, defaultLoaderOptions, type GrpcServerDeps, type GrpcServerOptions } from './server.js'
export { GrpcServices, grpcService, type GrpcContext, type GrpcImplementation, type GrpcMethod, type GrpcServiceRegistration, type GrpcServiceSpec } from './services.js'
export { toGrpcStatus } from './status-mapping.js'
