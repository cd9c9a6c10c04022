import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Container, Logger } from '@plinth/core'
import { OperationTypeNode, execute, type ExecutionResult, type GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql'
import { formatError, requestError, withCode } from './error-format.js'
import { prepareOperation, type OperationLimits, type OperationRequest } from './operation.js'
import type { GraphQLContext } from './schema-parts.js'

export interface HttpHandlerOptions {
  readonly schema: GraphQLSchema
  readonly container: Container
  readonly log: Logger
  readonly path: string
  readonly limits: OperationLimits
  readonly maxBodyBytes: number
  readonly exposeErrors: boolean
  /** True once the server drains: responses then carry `Connection: close`. */
  readonly draining: () => boolean
}

const GRAPHQL_RESPONSE = 'application/graphql-response+json'

/**
 * GraphQL over HTTP: POST with a JSON body, or GET with `query`, `variables` and
 * `operationName` in the query string (queries only). Request errors (unparsable, invalid,
 * too deep, too costly) answer 400; an executed operation answers 200 with `data` and any
 * `errors`, each with an extension code. Each request runs in its own request scope.
 */
export function httpHandler(options: HttpHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const respond = (status: number, body: { data?: unknown; errors?: readonly GraphQLFormattedError[] }, headers: Record<string, string> = {}) => {
      const accept = req.headers.accept ?? ''
      const type = accept.includes(GRAPHQL_RESPONSE) ? GRAPHQL_RESPONSE : 'application/json'
      res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, ...(options.draining() ? { connection: 'close' } : {}), ...headers }).end(JSON.stringify(body))
    }
    const reject = (status: number, error: GraphQLError, headers?: Record<string, string>) => respond(status, { errors: [error.toJSON()] }, headers)
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== options.path) return reject(404, requestError(`not found; GraphQL is served at ${options.path}`, 'BAD_REQUEST'))
    let request: OperationRequest
    if (req.method === 'GET') {
      const variables = url.searchParams.get('variables')
      try {
        request = { query: url.searchParams.get('query'), operationName: url.searchParams.get('operationName'), variables: variables ? JSON.parse(variables) : undefined }
      } catch {
        return reject(400, requestError('"variables" in the query string is not valid JSON', 'BAD_REQUEST'))
      }
    } else if (req.method === 'POST') {
      if (!/\bjson\b/i.test(req.headers['content-type'] ?? '')) {
        return reject(415, requestError('send the operation as JSON (content-type: application/json)', 'BAD_REQUEST'))
      }
      const body = await readBody(req, options.maxBodyBytes)
      if (body === undefined) return reject(413, requestError(`the request body is larger than ${options.maxBodyBytes} bytes`, 'BAD_REQUEST'), { connection: 'close' })
      try {
        request = JSON.parse(body) as OperationRequest
      } catch {
        return reject(400, requestError('the request body is not valid JSON', 'BAD_REQUEST'))
      }
      if (request === null || typeof request !== 'object') return reject(400, requestError('the request body must be a JSON object', 'BAD_REQUEST'))
    } else {
      return reject(405, requestError('use GET or POST', 'BAD_REQUEST'), { allow: 'GET, POST' })
    }
    const prepared = prepareOperation(options.schema, request, options.limits)
    if ('errors' in prepared) return respond(400, { errors: prepared.errors.map((error) => error.toJSON()) })
    const kind = prepared.operation.operation
    if (kind === OperationTypeNode.SUBSCRIPTION) return reject(400, requestError('subscriptions are served over WebSocket (graphql-ws) on this same path', 'OPERATION_NOT_ALLOWED'))
    if (kind === OperationTypeNode.MUTATION && req.method === 'GET') return reject(405, requestError('mutations need POST', 'OPERATION_NOT_ALLOWED'), { allow: 'POST' })
    const { container } = options
    const result: ExecutionResult = await container.runInScope('request', (scope) => {
      const contextValue: GraphQLContext = { resolve: (token) => container.resolve(token), scope, request: req }
      return execute({ schema: options.schema, document: prepared.document, variableValues: prepared.variables, operationName: prepared.operationName, contextValue })
    })
    // Without data, the variables were rejected before execution: a request error.
    if (!('data' in result)) return respond(400, { errors: (result.errors ?? []).map((error) => withCode(error, 'BAD_USER_INPUT').toJSON()) })
    const errors = result.errors?.map((error) => {
      const { formatted, internal } = formatError(error, options.exposeErrors)
      if (internal) options.log.error({ err: error.originalError ?? error, path: error.path }, `GraphQL resolver failed: ${error.message}`)
      return formatted
    })
    respond(200, { data: result.data, ...(errors ? { errors } : {}) })
  }
}

/**
 * The body as text, or undefined when it passes `limit` bytes; the rest is then discarded
 * without destroying the socket, so that the 413 still reaches the client.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume()
    return undefined
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      req.resume()
      return undefined
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
