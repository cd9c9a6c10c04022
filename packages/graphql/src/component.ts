import { Application, Logger, Metrics, component, listensOn } from '@plinth/core'
import { GraphQLSchemaParts } from './schema-parts.js'
import { GraphQLServer, graphqlListener, type GraphQLServerOptions } from './server.js'

/**
 * The GraphQL server as a component: eager, listening on GRAPHQL_PORT (default 8080) at
 * /graphql, with a schema merged from every GraphQLSchemaParts contribution; healthy while it
 * serves (its readiness check is named "graphql-server"); draining at shutdown.
 *
 * @example
 * export const app = createApp({
 *   name: 'catalogue',
 *   components: [graphqlServer({ maxDepth: 8, maxCost: 2_000 })],
 *   modules: [products], // contributes GraphQLSchemaParts
 * })
 */
export function graphqlServer(options: GraphQLServerOptions = {}) {
  const provider = component('graphql-server', {
    eager: true,
    deps: { app: Application, parts: GraphQLSchemaParts, metrics: Metrics, log: Logger },
    create: ({ app, parts, metrics, log }) => new GraphQLServer({ app, parts, metrics, log }, options),
    start: async (server) => {
      await server.listen()
    },
    stop: (server, { signal }) => server.close(signal),
    health: (server) => (server.listening ? { status: 'up', details: { url: server.url } } : 'down'),
  })
  return listensOn(provider, graphqlListener, options)
}
