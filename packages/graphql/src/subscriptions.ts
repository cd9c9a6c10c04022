import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Container, Logger, MetricsRegistry, Scope } from '@plinth/core'
import { GraphQLError, execute, subscribe, type ExecutionArgs, type GraphQLSchema } from 'graphql'
import type { Context } from 'graphql-ws'
import { useServer, type Extra } from 'graphql-ws/use/ws'
import { WebSocketServer } from 'ws'
import { formatError } from './error-format.js'
import { prepareOperation, type OperationLimits } from './operation.js'
import type { GraphQLContext } from './schema-parts.js'

export interface SubscriptionTransportOptions {
  readonly schema: GraphQLSchema
  readonly container: Container
  readonly log: Logger
  readonly metrics: MetricsRegistry
  readonly limits: OperationLimits
  readonly exposeErrors: boolean
  readonly maxMessageBytes: number
  /** Milliseconds between pings; a client that does not answer is dropped. */
  readonly keepAlive: number
}

type WsContext = Context<Record<string, unknown> | undefined, Extra>

const labels = { server_type: 'graphql' } as const

/**
 * GraphQL over WebSocket with the graphql-ws protocol. Every operation gets its own request
 * scope, disposed when the operation completes; the same limits as over HTTP apply. At
 * shutdown every running subscription is completed (the client receives `complete`, not an
 * error), then the sockets close with 1001.
 */
export class SubscriptionTransport {
  readonly #options: SubscriptionTransportOptions
  readonly #wss: WebSocketServer
  readonly #dispose: () => void | Promise<void>
  readonly #streams = new Set<ScopedStream<unknown>>()
  readonly #scopes = new WeakMap<WsContext, Map<string, Scope>>()
  #open = 0
  #idle: (() => void) | undefined
  #closing = false

  constructor(options: SubscriptionTransportOptions) {
    this.#options = options
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes })
    this.#wss.on('connection', (socket) => {
      options.metrics.app.activeConnections.inc(labels)
      socket.once('close', () => options.metrics.app.activeConnections.dec(labels))
    })
    options.metrics.app.activeConnections.inc(labels, 0)
    const server = useServer<Record<string, unknown> | undefined>(
      {
        schema: options.schema,
        isProd: !options.exposeErrors,
        onSubscribe: (ctx, id, payload) => this.#subscribe(ctx, id, payload),
        execute: (args) => scopeOf(args).run(() => execute(args)),
        subscribe: async (args) => {
          const scope = scopeOf(args)
          const result = await scope.run(() => subscribe(args))
          if (!(Symbol.asyncIterator in result)) return result
          const stream = new ScopedStream(result, scope, () => this.#streams.delete(stream))
          this.#streams.add(stream)
          return stream
        },
        onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((error) => this.#format(error)) } : undefined),
        onError: (_ctx, _id, _payload, errors) => errors.map((error) => this.#format(error)),
        onComplete: (ctx, id) => this.#complete(ctx, id),
        onClose: (ctx) => {
          for (const id of [...(this.#scopes.get(ctx)?.keys() ?? [])]) this.#complete(ctx, id)
        },
      },
      this.#wss,
      options.keepAlive,
    )
    this.#dispose = () => server.dispose()
  }

  /** Open WebSocket connections. */
  get size(): number {
    return this.#wss.clients.size
  }

  /** Takes over an HTTP upgrade on the GraphQL path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req))
  }

  /**
   * Completes every running subscription, waits (until `signal` fires at the latest) for the
   * clients to be told, then closes every socket with 1001.
   */
  async close(signal: AbortSignal): Promise<void> {
    this.#closing = true
    for (const stream of [...this.#streams]) stream.finish()
    if (this.#open > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve
        signal.addEventListener('abort', () => resolve(), { once: true })
      })
    }
    // The complete messages are queued before the close frames, so clients see them first.
    const cut = () => {
      for (const client of this.#wss.clients) client.terminate()
    }
    signal.addEventListener('abort', cut, { once: true })
    try {
      await this.#dispose()
    } finally {
      signal.removeEventListener('abort', cut)
    }
  }

  #subscribe(ctx: WsContext, id: string, payload: { query: string; variables?: unknown; operationName?: string | null }): ExecutionArgs | readonly GraphQLError[] {
    if (this.#closing) return [new GraphQLError('the server is shutting down; reconnect to another instance', { extensions: { code: 'SERVICE_UNAVAILABLE' } })]
    const { schema, container, limits } = this.#options
    const prepared = prepareOperation(schema, payload, limits)
    if ('errors' in prepared) return prepared.errors
    const scope = container.createScope('request')
    let scopes = this.#scopes.get(ctx)
    if (scopes === undefined) this.#scopes.set(ctx, (scopes = new Map()))
    scopes.set(id, scope)
    this.#open++
    const contextValue: GraphQLContext = {
      resolve: (token) => container.resolve(token),
      scope,
      request: ctx.extra.request,
      ...(ctx.connectionParams ? { connectionParams: ctx.connectionParams } : {}),
    }
    return { schema, document: prepared.document, variableValues: prepared.variables, operationName: prepared.operationName, contextValue }
  }

  #complete(ctx: WsContext, id: string): void {
    const scope = this.#scopes.get(ctx)?.get(id)
    if (scope === undefined) return
    this.#scopes.get(ctx)?.delete(id)
    this.#open--
    scope.dispose().catch((error: unknown) => this.#options.log.warn({ err: error }, 'disposing a GraphQL operation scope failed'))
    // graphql-ws sends the complete message right after this hook returns; let it go first.
    if (this.#open === 0) setImmediate(() => this.#idle?.())
  }

  #format(error: GraphQLError) {
    const { formatted, internal } = formatError(error, this.#options.exposeErrors)
    if (internal) this.#options.log.error({ err: error.originalError ?? error, path: error.path }, `GraphQL subscription failed: ${error.message}`)
    return formatted
  }
}

function scopeOf(args: ExecutionArgs): Scope {
  return (args.contextValue as GraphQLContext).scope
}

/**
 * A subscription's event stream that runs each step in the operation's request scope and can
 * be finished from outside at shutdown, which ends it as if the source had ended.
 */
class ScopedStream<T> implements AsyncGenerator<T, undefined> {
  readonly #inner: AsyncIterator<T>
  readonly #scope: Scope
  readonly #onEnd: () => void
  readonly #finished: Promise<IteratorReturnResult<undefined>>
  #finish: () => void = () => undefined
  #done = false

  constructor(inner: AsyncIterable<T>, scope: Scope, onEnd: () => void) {
    this.#inner = inner[Symbol.asyncIterator]()
    this.#scope = scope
    this.#onEnd = onEnd
    this.#finished = new Promise((resolve) => (this.#finish = () => resolve({ done: true, value: undefined })))
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return { done: true, value: undefined }
    const result = await Promise.race([this.#scope.run(() => this.#inner.next()), this.#finished])
    if (result.done) await this.return()
    return result.done ? { done: true, value: undefined } : result
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    if (!this.#done) {
      this.#done = true
      this.#finish()
      this.#onEnd()
      await this.#inner.return?.()
    }
    return { done: true, value: undefined }
  }

  async throw(error: unknown): Promise<IteratorResult<T, undefined>> {
    await this.return()
    throw error
  }

  /** Ends the stream: a pending `next` resolves done, and the source is closed. */
  finish(): void {
    void this.return()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return()
  }
}
