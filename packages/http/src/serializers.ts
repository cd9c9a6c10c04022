import serializerCompiler from '@fastify/fast-json-stringify-compiler'
import { startCache } from '@plinth/core'
import type { FastifyServerOptions } from 'fastify'
import { CompiledSchemas, fingerprint } from './compiled-schemas.js'

type RouteSerializerDefinition = { readonly schema: unknown }
type Serialize = (data: unknown) => string
type SerializerCompiler = (route: RouteSerializerDefinition) => Serialize
type BuildSerializer = (externalSchemas: unknown, options?: unknown) => SerializerCompiler

// Fastify's own serializer builder (the version range fastify depends on): the same
// fast-json-stringify and options Fastify would use; imported statically, as Ajv's compiler is.
const { SerializerSelector } = serializerCompiler as unknown as { SerializerSelector: () => BuildSerializer }

/**
 * Fastify's response serializer builder, building one serializer per schema object rather than
 * one per route and status. A serializer depends on its schema and the context's shared schemas
 * only, so routes that answer with the same schema object (problem details on every error
 * status of every route, say) share the code fast-json-stringify generates for it: at start,
 * each build costs about a millisecond, and an API documenting its errors has hundreds.
 * Started from a bundle, a schema whose serializer compiled in an earlier start compiles on the
 * first response it serializes (see {@link CompiledSchemas}).
 *
 * @example
 * const http = fastify({ schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } } })
 */
export function sharedSerializers(): NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer'] {
  const select = SerializerSelector()
  const cache = startCache()
  const compiled = cache && new CompiledSchemas(cache, 'response-schemas')
  const build: BuildSerializer = (externalSchemas, options) => {
    const compile = select(externalSchemas, options)
    const shared = compiled && fingerprint(externalSchemas, options)
    // Per build: a context with other shared schemas builds its own.
    const built = new WeakMap<object, Serialize>()
    const serializerOf = (route: RouteSerializerDefinition): Serialize => {
      if (!compiled) return compile(route)
      const key = fingerprint(shared, route.schema)
      if (compiled.has(key)) return compiledOnFirstUse(() => compile(route))
      const serialize = compile(route)
      compiled.add(key)
      return serialize
    }
    return (route) => {
      const schema = route.schema
      if (typeof schema !== 'object' || schema === null) return compile(route)
      let serialize = built.get(schema)
      if (serialize === undefined) built.set(schema, (serialize = serializerOf(route)))
      return serialize
    }
  }
  return build as never
}

/** A serializer that compiles on its first call. */
function compiledOnFirstUse(compile: () => Serialize): Serialize {
  let serialize: Serialize | undefined
  return (data) => (serialize ??= compile())(data)
}
