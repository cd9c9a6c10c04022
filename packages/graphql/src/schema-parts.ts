import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { makeExecutableSchema } from '@graphql-tools/schema'
import { startCache, token, type AnyToken, type Scope, type ValueOf } from '@plinth/core'
import type { DocumentNode, GraphQLSchema } from 'graphql'
import { graphqlErrors } from './errors.js'

/**
 * The context every resolver receives. Each HTTP request, and each operation over WebSocket,
 * runs in its own request scope: `resolve` gives that scope's instances.
 */
export interface GraphQLContext {
  /** Resolves a token in the operation's request scope. */
  resolve<Tk extends AnyToken>(token: Tk): Promise<ValueOf<Tk>>
  /** The operation's request scope. */
  readonly scope: Scope
  /** The HTTP request (for a WebSocket operation, the upgrade request). */
  readonly request: IncomingMessage
  /** For a WebSocket operation: the client's `connectionParams` (often an auth token). */
  readonly connectionParams?: Readonly<Record<string, unknown>>
}

/** Resolvers keyed by type name, then field name, as @graphql-tools/schema takes them. */
export type GraphQLResolvers = NonNullable<Parameters<typeof makeExecutableSchema<GraphQLContext>>[0]['resolvers']>

/** One module's share of the schema: type definitions (SDL) and the resolvers for them. */
export interface GraphQLSchemaPart {
  readonly typeDefs: string | DocumentNode | ReadonlyArray<string | DocumentNode>
  readonly resolvers?: GraphQLResolvers
}

/**
 * The parts of the GraphQL schema that modules contribute. Type definitions are merged, so each
 * module may declare its own `type Query { ... }` fields (or `extend type Query`).
 *
 * @example
 * export const greetingSchema = provide(GraphQLSchemaParts, {
 *   deps: { greeter },
 *   create: ({ greeter }) => graphqlSchema({
 *     typeDefs: 'type Query { greet(name: String!): String! }',
 *     resolvers: { Query: { greet: (_root, { name }: { name: string }) => greeter.greet(name) } },
 *   }),
 * })
 */
export const GraphQLSchemaParts = token('graphql-schema-parts').many<GraphQLSchemaPart>()

/**
 * Declares a schema part with its resolvers typed against `GraphQLContext`.
 *
 * @example
 * graphqlSchema({
 *   typeDefs: 'type Query { me: User } type User { id: ID! }',
 *   resolvers: { Query: { me: async (_root, _args, ctx) => (await ctx.resolve(CurrentUser)).user } },
 * })
 */
export function graphqlSchema(part: GraphQLSchemaPart): GraphQLSchemaPart {
  return part
}

/** The start cache entry (see @plinth/core's StartCache) naming the type definitions an earlier start validated. */
export const validatedTypeDefsEntry = 'graphql-type-defs'

/**
 * Merges every part into one executable schema, or says what is wrong with it
 * (PLINTH_ERR_INVALID_GRAPHQL_SCHEMA). The server calls it at start; tests can call it directly.
 *
 * Started from a bundle, type definitions an earlier start of the same bundle validated (the
 * same text, by the same graphql) are not validated again: the start cache records their digest
 * once they built into a schema. Anything else, or type definitions given as parsed documents,
 * is validated as always.
 *
 * @example
 * const schema = assembleSchema([
 *   graphqlSchema({ typeDefs: 'type Query { a: Int }', resolvers: { Query: { a: () => 1 } } }),
 *   graphqlSchema({ typeDefs: 'type Query { b: Int }', resolvers: { Query: { b: () => 2 } } }),
 * ])
 */
export function assembleSchema(parts: readonly GraphQLSchemaPart[]): GraphQLSchema {
  if (parts.length === 0) {
    throw graphqlErrors.create('PLINTH_ERR_INVALID_GRAPHQL_SCHEMA', 'no GraphQL type definitions were contributed; the GraphQL server has nothing to serve', {
      hint: 'Contribute a schema part with provide(GraphQLSchemaParts, { value: graphqlSchema({ typeDefs, resolvers }) }), or leave graphqlServer() out of the app.',
    })
  }
  const typeDefs = parts.flatMap((part) => (Array.isArray(part.typeDefs) ? part.typeDefs : [part.typeDefs]) as Array<string | DocumentNode>)
  const cache = startCache()
  // graphql's check of the type definitions (assertValidSDL) is the largest part of building a
  // schema at start; for text it already passed, the answer cannot change.
  const digest = cache && typeDefs.every((t) => typeof t === 'string') ? typeDefsDigest(typeDefs) : undefined
  const validatedBefore = digest !== undefined && cache!.read(validatedTypeDefsEntry) === digest
  try {
    const schema = makeExecutableSchema<GraphQLContext>({
      typeDefs,
      resolvers: parts.flatMap((part) => (part.resolvers ? [part.resolvers] : [])) as GraphQLResolvers,
      resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
      assumeValidSDL: validatedBefore,
    })
    if (digest !== undefined && !validatedBefore) cache!.write(validatedTypeDefsEntry, digest)
    return schema
  } catch (error) {
    throw graphqlErrors.create('PLINTH_ERR_INVALID_GRAPHQL_SCHEMA', `the GraphQL schema cannot be assembled: ${(error as Error).message}`, { cause: error })
  }
}

/** The digest under which the start cache records type definitions (their texts, in order). */
export function typeDefsDigest(typeDefs: readonly string[]): string {
  const hash = createHash('sha256')
  for (const text of typeDefs) hash.update(text).update('\0')
  return hash.digest('base64url')
}
