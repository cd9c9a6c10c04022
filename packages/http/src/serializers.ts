import serializerCompiler from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

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
 *
 * @example
 * const http = fastify({ schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } } })
 */
export function sharedSerializers(): NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer'] {
  const select = SerializerSelector()
  const build: BuildSerializer = (externalSchemas, options) => {
    const compile = select(externalSchemas, options)
    // Per build: a context with other shared schemas builds its own.
    const built = new WeakMap<object, Serialize>()
    return (route) => {
      const schema = route.schema
      if (typeof schema !== 'object' || schema === null) return compile(route)
      let serialize = built.get(schema)
      if (serialize === undefined) built.set(schema, (serialize = compile(route)))
      return serialize
    }
  }
  return build as never
}
