/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), made on its first call.
 *
 * @grpc/reflection needs proto-loader's package definition of every file it describes, which
 * carries a descriptor of every message and the encoded FileDescriptorProtos; its
 * ReflectionService decodes and indexes them all when it is made, once per protocol version,
 * and its addToServer parses the reflection protos (which import descriptor.proto) for each
 * version. That is tens of milliseconds of every start, for a service that people call from
 * grpcurl now and then. Here its two methods, whose paths the reflection protocol fixes, are
 * registered with a handler and (de)serializers that, on the first call, load proto-loader and
 * @grpc/reflection, load the same files as the server with the same options, make the real
 * service and hand everything to it, so what answers is @grpc/reflection itself.
 */
import type { MethodDefinition, Server, ServiceDefinition, UntypedHandleCall } from '@grpc/grpc-js'
import type { Options as LoaderOptions, PackageDefinition } from '@grpc/proto-loader'
import { lazyRequire } from '@plinth/core'

type Method = { readonly definition: MethodDefinition<unknown, unknown>; readonly handler: UntypedHandleCall }

/** The files of one service and the loader options the server loaded them with. */
export interface ReflectedProtos {
  readonly proto: readonly string[]
  readonly loader: LoaderOptions
}

const protoLoader = lazyRequire<typeof import('@grpc/proto-loader')>('@grpc/proto-loader', import.meta.url)
const grpcReflection = lazyRequire<typeof import('@grpc/reflection')>('@grpc/reflection', import.meta.url)

/** The reflection protocol's method, in each version @grpc/reflection serves. */
const paths = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo']

/**
 * Adds reflection over the services in `protos` to `server`; the files are loaded again, and the
 * ReflectionService made, on the first reflection call.
 *
 * @example
 * addReflection(server, [{ proto: ['/srv/protos/greeter.proto'], loader: defaultLoaderOptions }])
 */
export function addReflection(server: Pick<Server, 'addService'>, protos: readonly ReflectedProtos[]): void {
  let methods: Map<string, Method> | undefined
  const method = (path: string): Method => {
    if (methods === undefined) {
      const pkg = Object.assign({}, ...protos.map(({ proto, loader }) => protoLoader().loadSync([...proto], loader))) as PackageDefinition
      const made = new Map<string, Method>()
      new (grpcReflection().ReflectionService)(pkg).addToServer({
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
