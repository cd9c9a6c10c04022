import { randomUUID } from 'node:crypto'
import type { Scope } from '@plinth/core'
import type { WebSocket } from 'ws'
import type { ServerMessage } from './protocol.js'
import { TokenBucket, type RateLimit } from './rate-limit.js'

/**
 * One client connection. Handlers get it in their context to reply out of band, keep
 * per-connection state, or close it.
 *
 * @example
 * wsHandler('whoami', {
 *   handle: (_data, { connection }) => {
 *     connection.send({ type: 'notice', data: { id: connection.id } }) // out of band, before the result
 *     return { id: connection.id }
 *   },
 * })
 */
export class WsConnection {
  /** Unique across instances (a random UUID). */
  readonly id = randomUUID()
  readonly remoteAddress: string | undefined
  /**
   * The correlation id of what the connection's messages set off (messages published by their
   * handlers): the `x-correlation-id` header of the upgrade request when it is plain, else the
   * connection's id. Each message is the cause: `<connection id>:<message id>`.
   */
  readonly correlationId: string
  /** Topics this connection has joined. */
  readonly topics = new Set<string>()
  /** Free-form state for handlers (the authenticated user, preferences, ...). */
  readonly state = new Map<string, unknown>()
  /** The connection's own container scope ("connection"), parent of each message's request scope. */
  readonly scope: Scope
  /** Fires when the connection closes. */
  readonly signal: AbortSignal
  /** @internal A pong arrived since the last ping. */
  alive = true
  readonly #socket: WebSocket
  readonly #closed = new AbortController()
  readonly #bucket: TokenBucket | undefined

  /** @internal */
  constructor(socket: WebSocket, remoteAddress: string | undefined, scope: Scope, rateLimit: RateLimit | false, correlationId?: string) {
    this.#socket = socket
    this.correlationId = correlationId ?? this.id
    this.remoteAddress = remoteAddress
    this.scope = scope
    this.signal = this.#closed.signal
    this.#bucket = rateLimit === false ? undefined : new TokenBucket(rateLimit)
  }

  /** True while messages can be sent. */
  get open(): boolean {
    return this.#socket.readyState === this.#socket.OPEN
  }

  /** Sends one message as JSON; silently skipped once the connection has closed. */
  send(message: ServerMessage): void {
    this.sendRaw(JSON.stringify(message))
  }

  /** @internal Sends an already serialised message (topic fan-out serialises once per broadcast). */
  sendRaw(payload: string): void {
    if (this.open) this.#socket.send(payload)
  }

  /** Closes the connection with a WebSocket close code (1000 normal, 1008 policy violation, ...). */
  close(code = 1000, reason = ''): void {
    this.#socket.close(code, reason)
  }

  /** @internal Takes one message from the rate limit; the wait in ms when over it. */
  admit(): number | undefined {
    if (this.#bucket === undefined || this.#bucket.take()) return undefined
    return this.#bucket.retryAfter()
  }

  /** @internal */
  markClosed(): void {
    this.#closed.abort(new Error('connection closed'))
  }
}
