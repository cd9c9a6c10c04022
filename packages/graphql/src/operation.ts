import { GraphQLError, NoSchemaIntrospectionCustomRule, getOperationAST, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql'
import { requestError, withCode } from './error-format.js'
import { costLimit, depthLimit } from './limits.js'

/** Limits applied to every operation, over HTTP and WebSocket alike. */
export interface OperationLimits {
  /** Deepest nesting of fields. Default 10. */
  readonly maxDepth?: number
  /** Highest estimated cost (see costLimit). Default 1 000. */
  readonly maxCost?: number
  /** List size assumed when the query gives no size argument (see costLimit). Default 10. */
  readonly defaultListSize?: number
  /**
   * Answer introspection (`__schema`, `__type`). Default: the server's default is on except in
   * production (APP_ENV=production), where the schema's map is not handed to every client.
   */
  readonly introspection?: boolean
  /**
   * Let validation errors suggest names (`Did you mean "email"?`). The server's default is on
   * except in production, where suggestions would reveal the schema with introspection off.
   */
  readonly suggestions?: boolean
}

/** An operation as clients send it, in a POST body or a query string. */
export interface OperationRequest {
  readonly query?: unknown
  readonly variables?: unknown
  readonly operationName?: unknown
}

export interface PreparedOperation {
  readonly document: DocumentNode
  readonly operation: OperationDefinitionNode
  readonly variables: Record<string, unknown> | undefined
  readonly operationName: string | undefined
}

/**
 * Parses and validates an operation, with the depth and cost limits beside graphql's own
 * rules; every error carries its extension code.
 *
 * @example
 * const prepared = prepareOperation(schema, { query: '{ hello }' }, { maxDepth: 5 })
 * if ('errors' in prepared) return respond(400, { errors: prepared.errors })
 */
export function prepareOperation(schema: GraphQLSchema, request: OperationRequest, limits: OperationLimits = {}): PreparedOperation | { errors: readonly GraphQLError[] } {
  const { query, variables, operationName } = request
  if (typeof query !== 'string' || query.trim() === '') return { errors: [requestError('the request has no "query" string', 'BAD_REQUEST')] }
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return { errors: [requestError('"variables" must be a JSON object', 'BAD_REQUEST')] }
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    return { errors: [requestError('"operationName" must be a string', 'BAD_REQUEST')] }
  }
  let document: DocumentNode
  try {
    document = parse(query)
  } catch (error) {
    return { errors: [withCode(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')] }
  }
  const rules = [
    ...specifiedRules,
    ...(limits.introspection === false ? [NoSchemaIntrospectionCustomRule] : []),
    depthLimit(limits.maxDepth ?? 10),
    costLimit({ max: limits.maxCost ?? 1_000, defaultListSize: limits.defaultListSize ?? 10, variables: variables as Record<string, unknown> | null | undefined }),
  ]
  const errors = validate(schema, document, rules)
  if (errors.length > 0) return { errors: errors.map((error) => withCode(limits.suggestions === false ? withoutSuggestion(error) : error, 'GRAPHQL_VALIDATION_FAILED')) }
  const name = operationName ?? undefined
  const operation = getOperationAST(document, name)
  if (!operation) {
    return { errors: [requestError(name ? `the document has no operation named "${name}"` : 'the document has several operations; say which with "operationName"', 'BAD_REQUEST')] }
  }
  return { document, operation, variables: (variables ?? undefined) as Record<string, unknown> | undefined, operationName: name }
}

// graphql-js 16 has no switch for its suggestions; they always end the message.
const suggestion = /\s*Did you mean [^?]*\?$/

function withoutSuggestion(error: GraphQLError): GraphQLError {
  if (!suggestion.test(error.message)) return error
  return new GraphQLError(error.message.replace(suggestion, ''), { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions: error.extensions })
}
