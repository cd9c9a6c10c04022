import { token, type AnyToken, type ValueOf } from '@plinth/core'
import type { WsConnection } from './connection.js'
import { wsErrors } from './errors.js'

/**
 * The part of the Standard Schema interface (https://standardschema.dev) a handler's schema
 * needs; zod 4, valibot and arktype schemas all fit, with no adapter.
 */
export interface MessageSchema<T> {
  readonly '~standard': {
    validate(value: unknown): MessageSchemaResult<T> | Promise<MessageSchemaResult<T>>
  }
}

export type MessageSchemaResult<T> =
  | { readonly value: T; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> }> }

/** What a handler receives beside the message data. */
export interface WsContext {
  readonly connection: WsConnection
  /** The message's id, when the client sent one. */
  readonly id: string | number | undefined
  /** Fires when the connection closes, so long work can stop. */
  readonly signal: AbortSignal
  /** Resolves a token in this message's request scope (nested in the connection's scope). */
  resolve<Tk extends AnyToken>(token: Tk): Promise<ValueOf<Tk>>
  /** Sends `data` to every subscriber of `topic`, on every instance. */
  broadcast(topic: string, data: unknown): Promise<void>
}

/**
 * A handler of one message type. What `handle` returns is sent back as the `result` of a
 * message that has an id; a throw becomes an `error` message whose code `toWireError` picks
 * from the error's HTTP-like status (404 is `not_found`, ...).
 */
export interface WsHandler<T = unknown> {
  readonly type: string
  /** Validates `data` before `handle` sees it; failures answer `invalid_data` with each issue. */
  readonly schema?: MessageSchema<T>
  /**
   * Handle this type's messages as soon as they arrive, beside the socket's others. Default
   * false: a socket's messages are handled one after another, in the order sent, so that a
   * read sent after a write sees the write. Opt in for independent, slow work (a long AI reply
   * that must not hold up pings or reads).
   */
  readonly concurrent?: boolean
  handle(data: T, context: WsContext): unknown
}

/**
 * The message handlers modules contribute. Each message type has exactly one handler.
 *
 * @example
 * export const echo = provide(WsHandlers, { value: wsHandler('echo', { handle: (data) => data }) })
 */
export const WsHandlers = token('ws-handlers').many<WsHandler<any>>()

/**
 * Declares a typed message handler. With a schema, `data` is typed and validated.
 *
 * @example
 * import { z } from 'zod'
 * export const sendChat = provide(WsHandlers, {
 *   deps: { chat: ChatRoom },
 *   create: ({ chat }) =>
 *     wsHandler('chat.send', {
 *       schema: z.object({ room: z.string(), text: z.string().max(500) }),
 *       handle: async ({ room, text }, ctx) => {
 *         await ctx.broadcast(`chat:${room}`, { from: ctx.connection.id, text })
 *         return { delivered: true }
 *       },
 *     }),
 * })
 */
export function wsHandler<T = unknown>(type: string, spec: Omit<WsHandler<T>, 'type'>): WsHandler<T> {
  if (typeof type !== 'string' || type.length === 0) throw wsErrors.create('PLINTH_ERR_WS_INVALID_HANDLER', `wsHandler(type) needs a non-empty message type; got ${JSON.stringify(type)}`)
  if (type === 'subscribe' || type === 'unsubscribe') throw wsErrors.create('PLINTH_ERR_WS_INVALID_HANDLER', `"${type}" is a built-in message type; name the handler differently`)
  return { ...spec, type }
}

/** The issues of a failed validation, as `details.issues` carries them. */
export function describeIssues(issues: Extract<MessageSchemaResult<unknown>, { issues: unknown }>['issues']): Array<{ path: string; message: string }> {
  return issues.map((issue) => ({
    path: (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.'),
    message: issue.message,
  }))
}
