/**
 * Guards: a token in, a principal out, or the right refusal. One check for every protocol, with
 * thin adapters: a Fastify preValidation hook (REST), a wrapper per gRPC method (metadata), per
 * WebSocket message type (the connection authenticates once) and per GraphQL resolver. None of
 * them imports a server library: they take the shapes those servers hand to handlers.
 */
import type { Authentication } from './authentication.js'
import { authErrors } from './errors.js'
import type { Principal, PrincipalSlot } from './principal.js'
import { allows } from './roles.js'

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>

/**
 * The token of an `Authorization: Bearer <token>` value; undefined when there is none.
 *
 * @example
 * bearerToken('Bearer eyJhbGciOi...') // 'eyJhbGciOi...'
 * bearerToken('Basic dXNlcjpwdw==') // undefined
 */
export function bearerToken(header: unknown): string | undefined {
  const value = Array.isArray(header) ? (header[0] as unknown) : header
  if (typeof value !== 'string') return undefined
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(value)
  return match?.[1]
}

const quote = (text: string) => text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')

/**
 * The WWW-Authenticate challenge (RFC 6750) for an auth error: `Bearer realm=...` for a missing
 * token, with `error="invalid_token"` for a bad one, `error="insufficient_scope"` for 403.
 *
 * @example
 * challengeFor(error, 'api') // 'Bearer realm="api", error="invalid_token", error_description="the access token has expired; refresh it"'
 */
export function challengeFor(error: unknown, realm: string): string | undefined {
  if (authErrors.is(error, 'PLINTH_ERR_AUTH_FORBIDDEN')) {
    const scope = error.details?.permission
    return `Bearer realm="${quote(realm)}", error="insufficient_scope"${typeof scope === 'string' ? `, scope="${quote(scope)}"` : ''}`
  }
  if (!authErrors.is(error, 'PLINTH_ERR_AUTH_UNAUTHENTICATED')) return undefined
  if (error.details?.error !== 'invalid_token') return `Bearer realm="${quote(realm)}"`
  return `Bearer realm="${quote(realm)}", error="invalid_token", error_description="${quote(error.message)}"`
}

/** What a guard needs from a gRPC call's context: its metadata. */
export interface MetadataLike {
  get(key: string): unknown[]
}

/** What a guard needs from a GraphQL context: the HTTP request, or graphql-ws connection params. */
export interface GraphQLContextLike {
  readonly request?: { readonly headers: Headers }
  readonly connectionParams?: Readonly<Record<string, unknown>>
}

/** What a guard needs from a WebSocket handler's context: the connection's state. */
export interface WsContextLike {
  readonly connection: { readonly state: Map<string, unknown> }
}

const CONNECTION_TOKEN = '@plinth/auth:token'

/**
 * Checks tokens and permissions for every protocol, and puts the principal in the request's
 * `CurrentPrincipal` slot.
 *
 * @example
 * const guard = new Guard(auth, { realm: 'reference' })
 * http.post('/devices', { preValidation: guard.rest('devices:write') }, handler)
 * const implementation = { RegisterDevice: guard.grpc('devices:write', registerDevice) }
 * const resolvers = { Mutation: { registerDevice: guard.graphql('devices:write', resolve) } }
 */
export class Guard {
  readonly realm: string
  readonly #auth: Authentication
  readonly #slot: (() => PrincipalSlot | undefined) | undefined

  constructor(auth: Authentication, options: { realm?: string; slot?: () => PrincipalSlot | undefined } = {}) {
    this.#auth = auth
    this.realm = options.realm ?? 'api'
    this.#slot = options.slot
  }

  /**
   * The principal of `token`, which must grant `permission` when one is given. Throws
   * PLINTH_ERR_AUTH_UNAUTHENTICATED (401) or PLINTH_ERR_AUTH_FORBIDDEN (403).
   */
  async check(token: string | undefined, permission?: string): Promise<Principal> {
    if (token === undefined) throw authErrors.create('PLINTH_ERR_AUTH_UNAUTHENTICATED', 'this operation needs an access token; none was sent')
    const principal = await this.#auth.authenticate(token)
    this.authorize(principal, permission)
    this.#remember(principal)
    return principal
  }

  /** Throws PLINTH_ERR_AUTH_FORBIDDEN when the principal lacks `permission`. */
  authorize(principal: Principal, permission: string | undefined): void {
    if (permission === undefined || allows(principal.permissions, permission)) return
    throw authErrors.create('PLINTH_ERR_AUTH_FORBIDDEN', `this operation needs the permission "${permission}", which the roles ${principal.roles.length ? principal.roles.map((r) => `"${r}"`).join(', ') : '(none)'} do not grant`, {
      details: { permission },
    })
  }

  /**
   * A Fastify hook for a route's `preValidation`: Bearer token from the Authorization header; on
   * refusal the WWW-Authenticate challenge is set and the error thrown for the server's problem
   * handler. In preValidation a request without the right token is answered 401 or 403 before
   * its body is validated, so a caller learns nothing of the route's schema; @plinth/http opens
   * the request scope, where the principal goes, just before. (As a `preHandler` it works too,
   * after validation; in `onRequest` there is no request scope yet to hold the principal.)
   */
  rest(permission?: string): (request: { readonly headers: Headers }, reply: { header(name: string, value: string): unknown }) => Promise<void> {
    return async (request, reply) => {
      try {
        await this.check(bearerToken(request.headers.authorization), permission)
      } catch (error) {
        const challenge = challengeFor(error, this.realm)
        if (challenge) reply.header('www-authenticate', challenge)
        throw error
      }
    }
  }

  /** Wraps a gRPC method: the token comes from the `authorization` metadata (`Bearer <token>`). */
  grpc<Request, Context extends { readonly metadata: MetadataLike }, Result>(permission: string | undefined, method: (request: Request, context: Context) => Result): (request: Request, context: Context) => Promise<Awaited<Result>> {
    return async (request, context): Promise<Awaited<Result>> => {
      await this.check(bearerToken(context.metadata.get('authorization')[0]), permission)
      return await method(request, context)
    }
  }

  /**
   * Wraps a GraphQL resolver (a field or an operation's root field): the token comes from the
   * HTTP Authorization header, or for a subscription from `connectionParams.authorization`.
   */
  graphql<Root, Args, Context extends GraphQLContextLike, Result>(permission: string | undefined, resolver: (root: Root, args: Args, context: Context, info: unknown) => Result): (root: Root, args: Args, context: Context, info: unknown) => Promise<Awaited<Result>> {
    return async (root, args, context, info): Promise<Awaited<Result>> => {
      const header = context.request?.headers.authorization ?? context.connectionParams?.authorization
      await this.check(bearerToken(header) ?? (typeof header === 'string' && !header.includes(' ') ? header : undefined), permission)
      return await resolver(root, args, context, info)
    }
  }

  /**
   * Authenticates a WebSocket connection (its first message, `auth.authenticate`); the token is
   * kept on the connection for the messages that follow.
   */
  async authenticateConnection(token: unknown, context: WsContextLike): Promise<Principal> {
    const principal = await this.check(typeof token === 'string' ? token : undefined)
    context.connection.state.set(CONNECTION_TOKEN, token)
    return principal
  }

  /**
   * Wraps a WebSocket handler: the connection must have authenticated, and its token is checked
   * again for every message, so an expiry, a logout or a role change reaches open connections.
   */
  ws<Data, Context extends WsContextLike, Result>(permission: string | undefined, handle: (data: Data, context: Context) => Result): (data: Data, context: Context) => Promise<Awaited<Result>> {
    return async (data, context): Promise<Awaited<Result>> => {
      const token = context.connection.state.get(CONNECTION_TOKEN) as string | undefined
      if (token === undefined) throw authErrors.create('PLINTH_ERR_AUTH_UNAUTHENTICATED', 'this connection has not authenticated; send { "type": "auth.authenticate", "data": { "token": "<access token>" } } first')
      await this.check(token, permission)
      return await handle(data, context)
    }
  }

  #remember(principal: Principal): void {
    let slot: PrincipalSlot | undefined
    try {
      slot = this.#slot?.()
    } catch {
      // Outside a request scope (a unit test calling the guard directly): nothing to fill.
      return
    }
    slot?.set(principal)
  }
}
