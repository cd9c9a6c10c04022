import { PlinthError, withCorrelation, type Container, type Logger } from '@plinth/core'
import type { WsConnection } from './connection.js'
import { toWireError } from './error-mapping.js'
import { describeIssues, type WsContext, type WsHandler } from './handlers.js'
import { idOf, parseClientMessage, parseTopicRequest, type ClientMessage, type WireError } from './protocol.js'
import type { Topics } from './topics.js'

/** Decides whether a connection may join a topic; throw or return false to refuse. */
export type TopicGuard = (topic: string, connection: WsConnection) => boolean | Promise<boolean>

/**
 * Turns each incoming frame into exactly one outcome: a handler's result, or an error message
 * naming what was wrong. Nothing is dropped silently.
 */
export class Dispatcher {
  readonly #handlers = new Map<string, WsHandler>()
  readonly #container: Container
  readonly #topics: Topics
  readonly #log: Logger
  readonly #canSubscribe: TopicGuard
  /** Handlers still running, so that shutdown can wait for them. */
  readonly inFlight = new Set<Promise<void>>()
  /** Set at shutdown: new messages are answered `shutting_down`. */
  draining = false
  /** Per connection, the last ordered message's task: the next one starts after it settles. */
  readonly #tails = new WeakMap<WsConnection, Promise<void>>()

  constructor(handlers: readonly WsHandler[], container: Container, topics: Topics, log: Logger, canSubscribe: TopicGuard) {
    for (const handler of handlers) {
      if (this.#handlers.has(handler.type)) {
        throw new PlinthError('PLINTH_ERR_DUPLICATE_HANDLER', `two WebSocket handlers are registered for message type "${handler.type}"`, {
          details: { type: handler.type },
        })
      }
      this.#handlers.set(handler.type, handler)
    }
    this.#container = container
    this.#topics = topics
    this.#log = log
    this.#canSubscribe = canSubscribe
  }

  /** Message types with a handler, built-ins first. */
  types(): string[] {
    return ['subscribe', 'unsubscribe', ...this.#handlers.keys()]
  }

  /** Handles one frame from a connection. */
  receive(connection: WsConnection, raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (isBinary) return this.#fail(connection, undefined, { code: 'bad_message', message: 'binary frames are not supported; send JSON text' })
    const text = Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : Buffer.from(raw as ArrayBuffer).toString('utf8')
    const message = parseClientMessage(text)
    if (!('type' in message)) return this.#fail(connection, idOf(message), message)
    const wait = connection.admit()
    if (wait !== undefined) {
      return this.#fail(connection, message.id, { code: 'rate_limited', message: `too many messages; retry in ${wait} ms`, details: { retryAfter: wait } })
    }
    if (this.draining) return this.#fail(connection, message.id, { code: 'shutting_down', message: 'the server is shutting down; reconnect to another instance' })
    // Messages from one socket are handled in the order they arrived, each after the previous
    // one has answered, so that a read sent after a write sees it; a handler marked
    // `concurrent` starts at once and holds nothing up.
    const concurrent = this.#handlers.get(message.type)?.concurrent === true
    const previous = concurrent ? undefined : this.#tails.get(connection)
    const run = previous === undefined ? this.#handle(connection, message) : previous.then(() => this.#handle(connection, message))
    const task = run.catch((error: unknown) => this.#reject(connection, message, error))
    if (!concurrent) this.#tails.set(connection, task)
    this.inFlight.add(task)
    void task.finally(() => {
      this.inFlight.delete(task)
      if (this.#tails.get(connection) === task) this.#tails.delete(connection)
    })
  }

  async #handle(connection: WsConnection, message: ClientMessage): Promise<void> {
    if (!connection.open) return
    if (message.type === 'subscribe' || message.type === 'unsubscribe') return this.#topicRequest(connection, message)
    const handler = this.#handlers.get(message.type)
    if (handler === undefined) {
      return this.#fail(connection, message.id, {
        code: 'unknown_type',
        message: `no handler for message type "${message.type}"`,
        details: { type: message.type, known: this.types() },
      })
    }
    let data = message.data
    if (handler.schema) {
      const result = await handler.schema['~standard'].validate(data)
      if (result.issues) {
        return this.#fail(connection, message.id, {
          code: 'invalid_data',
          message: `the data of "${message.type}" is invalid`,
          details: { type: message.type, issues: describeIssues(result.issues) },
        })
      }
      data = result.value
    }
    const container = this.#container
    const context: WsContext = {
      connection,
      id: message.id,
      signal: connection.signal,
      resolve: (token) => container.resolve(token),
      broadcast: (topic, payload) => this.#topics.broadcast(topic, payload),
    }
    // Each message gets a request scope nested in its connection's scope, and is the cause of
    // what its handler publishes.
    const cause = message.id === undefined ? connection.id : `${connection.id}:${message.id}`
    const result: unknown = await withCorrelation(connection.correlationId, () => connection.scope.run(() => container.runInScope('request', () => handler.handle(data, context))), cause)
    if (message.id !== undefined) connection.send({ type: 'result', id: message.id, data: result ?? null })
  }

  async #topicRequest(connection: WsConnection, message: ClientMessage): Promise<void> {
    const request = parseTopicRequest(message.data)
    if ('code' in request) return this.#fail(connection, message.id, request)
    const { topic } = request
    if (message.type === 'unsubscribe') {
      const was = await this.#topics.unsubscribe(topic, connection)
      if (message.id !== undefined) connection.send({ type: 'result', id: message.id, data: { topic, subscribed: false, was } })
      return
    }
    if (!(await this.#canSubscribe(topic, connection))) {
      return this.#fail(connection, message.id, { code: 'forbidden', message: `this connection may not subscribe to "${topic}"`, details: { topic } })
    }
    await this.#topics.subscribe(topic, connection)
    if (message.id !== undefined) connection.send({ type: 'result', id: message.id, data: { topic, subscribed: true } })
  }

  #reject(connection: WsConnection, message: ClientMessage, error: unknown): void {
    const { error: wire, status } = toWireError(error)
    if (status >= 500) this.#log.error({ err: error, type: message.type, connection: connection.id }, `WebSocket handler "${message.type}" failed`)
    else this.#log.debug({ err: error, type: message.type, connection: connection.id }, `WebSocket handler "${message.type}" refused the message`)
    this.#fail(connection, message.id, { ...wire, details: { ...wire.details, type: message.type } })
  }

  #fail(connection: WsConnection, id: string | number | undefined, error: WireError): void {
    connection.send(id === undefined ? { type: 'error', error } : { type: 'error', id, error })
  }
}
