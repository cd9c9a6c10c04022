/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) whose index is built on its first call.
 *
 * @grpc/reflection's ReflectionService decodes and indexes every file descriptor when it is made,
 * once per protocol version, and its addToServer parses the reflection protos (which import
 * descriptor.proto) for each version: tens of milliseconds of every start, for a service that
 * people call from grpcurl now and then. Here its two methods, whose paths the reflection
 * protocol fixes, are registered with a handler and (de)serializers that make the real service
 * on the first call and hand everything to it, so what answers is @grpc/reflection itself.
 */
import type { MethodDefinition, Server, ServiceDefinition, UntypedHandleCall } from '@grpc/grpc-js'
import type { PackageDefinition } from '@grpc/proto-loader'

type ReflectionServiceClass = typeof import('@grpc/reflection').ReflectionService
type Method = { readonly definition: MethodDefinition<unknown, unknown>; readonly handler: UntypedHandleCall }

/** The reflection protocol's method, in each version @grpc/reflection serves. */
const paths = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo']

/**
 * Adds reflection over `pkg` to `server`; the ReflectionService is made on the first reflection
 * call.
 *
 * @example
 * const { ReflectionService } = await import('@grpc/reflection')
 * addReflection(server, ReflectionService, { ...servicesPackage, ...healthPackage })
 */
export function addReflection(server: Pick<Server, 'addService'>, ReflectionService: ReflectionServiceClass, pkg: PackageDefinition): void {
  let methods: Map<string, Method> | undefined
  const method = (path: string): Method => {
    if (methods === undefined) {
      const made = new Map<string, Method>()
      new ReflectionService(pkg).addToServer({
        addService: (definition: ServiceDefinition, implementation: Record<string, UntypedHandleCall>) => {
          for (const [name, attributes] of Object.entries(definition)) made.set(attributes.path, { definition: attributes as MethodDefinition<unknown, unknown>, handler: implementation[name]! })
        },
      })
      methods = made
    }
    const found = methods.get(path)
    if (found === undefined) throw new Error(`@grpc/reflection no longer serves ${path}; the services it serves: ${[...methods.keys()].join(', ')}`)
    return found
  }
  for (const path of paths) {
    const definition: MethodDefinition<unknown, unknown> = {
      path,
      requestStream: true,
      responseStream: true,
      originalName: 'serverReflectionInfo',
      requestSerialize: (value) => method(path).definition.requestSerialize(value),
      requestDeserialize: (bytes) => method(path).definition.requestDeserialize(bytes),
      responseSerialize: (value) => method(path).definition.responseSerialize(value),
      responseDeserialize: (bytes) => method(path).definition.responseDeserialize(bytes),
    }
    const handler = ((call: never) => (method(path).handler as (call: never) => void)(call)) as UntypedHandleCall
    server.addService({ ServerReflectionInfo: definition }, { ServerReflectionInfo: handler })
  }
}
