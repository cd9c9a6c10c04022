/**
 * Service definitions for grpc-js, made from .proto files with protobufjs.
 *
 * Why not @grpc/proto-loader: its package definition carries, for every message, enum and
 * method of every file it loads, a descriptor (`toDescriptor`, `toObject`) and the encoded
 * FileDescriptorProtos, all made when it loads, and loading it builds protobufjs's descriptor
 * extension. Only reflection reads any of that, and people call reflection from grpcurl now and
 * then: at start it was some 35 ms of the reference service's. Here a service's methods get what
 * grpc-js serves them with (path, streaming, the four (de)serializers, the camel-case name), made
 * exactly as proto-loader makes them, with the same options; reflection makes proto-loader's
 * package definition on its first call (see reflection.ts).
 */
import { accessSync, constants } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js'
import type { Options as LoaderOptions } from '@grpc/proto-loader'
import { lazyRequire } from '@plinth/core'
import type * as Protobuf from 'protobufjs'

/** protobufjs's exports. */
export type ProtobufModule = Omit<typeof Protobuf, 'default'>

/**
 * protobufjs, loaded on first use. It is CommonJS, whose exports Node's ES module loader hands
 * over as the default export alone.
 */
export async function importProtobuf(): Promise<ProtobufModule> {
  return (await import('protobufjs')).default
}

/** The well-known protos proto-loader adds beside the ones protobufjs holds, so that the same files load. */
const extraCommon = {
  api: lazyRequire<{ nested: CommonNested }>('protobufjs/google/protobuf/api.json', import.meta.url),
  descriptor: lazyRequire<{ nested: CommonNested }>('protobufjs/google/protobuf/descriptor.json', import.meta.url),
  source_context: lazyRequire<{ nested: CommonNested }>('protobufjs/google/protobuf/source_context.json', import.meta.url),
  type: lazyRequire<{ nested: CommonNested }>('protobufjs/google/protobuf/type.json', import.meta.url),
}
type CommonNested = { google: { nested: { protobuf: { nested: Protobuf.INamespace['nested'] } } } }

let commonAdded = false

/**
 * Parses `files` as proto-loader would with `options` (include folders, keepCase and the other
 * parse options) and resolves every type; throws protobufjs's error for a file that does not
 * parse or an import it cannot find.
 */
export async function loadRoot(protobuf: ProtobufModule, files: readonly string[], options: LoaderOptions): Promise<Protobuf.Root> {
  if (!commonAdded) {
    for (const [name, json] of Object.entries(extraCommon)) protobuf.common(name, json().nested.google.nested.protobuf.nested!)
    commonAdded = true
  }
  const root = new protobuf.Root()
  const includeDirs = options.includeDirs ?? []
  if (includeDirs.length > 0) {
    const resolveDefault = root.resolvePath.bind(root)
    root.resolvePath = (origin, target) => {
      if (isAbsolute(target)) return target
      for (const dir of includeDirs) {
        const candidate = join(dir, target)
        try {
          accessSync(candidate, constants.R_OK)
          return candidate
        } catch {
          // Not in this folder: the next one.
        }
      }
      return resolveDefault(origin, target)
    }
  }
  await root.load([...files], options)
  root.resolveAll()
  return root
}

/** The fully qualified names of the services in `root`, for an error that says what there is. */
export function serviceNames(protobuf: ProtobufModule, root: Protobuf.Root): string[] {
  const names: string[] = []
  const visit = (namespace: Protobuf.NamespaceBase, prefix: string) => {
    for (const child of namespace.nestedArray) {
      const name = prefix ? `${prefix}.${child.name}` : child.name
      if (child instanceof protobuf.Service) names.push(name)
      else if (child instanceof protobuf.Namespace) visit(child, name)
    }
  }
  visit(root, '')
  return names
}

/** The service `name` (fully qualified) in `root` as grpc-js serves it, or undefined when there is none. */
export function serviceDefinition(protobuf: ProtobufModule, root: Protobuf.Root, name: string, options: LoaderOptions): ServiceDefinition | undefined {
  let service: Protobuf.ReflectionObject | null
  try {
    service = root.lookup(name)
  } catch {
    return undefined
  }
  if (!(service instanceof protobuf.Service)) return undefined
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {}
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType!
    const response = method.resolvedResponseType!
    definition[method.name] = {
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request, options),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response, options),
      originalName: camelCase(method.name),
    }
  }
  return definition
}

// As proto-loader's: fromObject then encode; decode then toObject with the loader's options.
function serializer(type: Protobuf.Type): (value: unknown) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`)
    // protobufjs writes into a Buffer under Node: finish() hands back that Buffer.
    return type.encode(type.fromObject(value as Record<string, unknown>)).finish() as Buffer
  }
}

function deserializer(type: Protobuf.Type, options: LoaderOptions): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), options)
}

/**
 * lodash's camelCase for a method name, as proto-loader gives grpc-js (`SayHello` → `sayHello`,
 * `GetHTTPStatus` → `getHttpStatus`, `list_items` → `listItems`).
 */
export function camelCase(name: string): string {
  const words = name.match(/[A-Z]{2,}(?=[A-Z][a-z]+[0-9]*|[^A-Za-z0-9]|$)|[A-Z]?[a-z]+[0-9]*|[A-Z]+|[0-9]+/g) ?? []
  return words.map((word, i) => (i === 0 ? word.toLowerCase() : word[0]!.toUpperCase() + word.slice(1).toLowerCase())).join('')
}
