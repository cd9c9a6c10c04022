/**
 * @plinth/graphql: Plinth's GraphQL server. A schema merged from the modules' type definitions
 * and resolvers, each operation in its own request scope; queries over HTTP and subscriptions
 * over WebSocket (graphql-ws) on one port; errors with extension codes; depth and cost limits;
 * subscriptions completed cleanly at shutdown.
 */
export { graphqlErrors } from './errors.js'
export { graphqlServer } from './component.js'
export { GraphQLEvents, GraphQLPubSub, SubscriptionEvents, graphqlEvents, type SubscriptionPubSub } from './events.js'
export { formatError, requestErrorCodes } from './error-format.js'
export { costLimit, depthLimit, type CostOptions } from './limits.js'
export { prepareOperation, type OperationLimits, type OperationRequest, type PreparedOperation } from './operation.js'
export { GraphQLSchemaParts, assembleSchema, graphqlSchema, type GraphQLContext, type GraphQLResolvers, type GraphQLSchemaPart } from './schema-parts.js'
export { GraphQLServer, type GraphQLServerDeps, type GraphQLServerOptions } from './server.js'
