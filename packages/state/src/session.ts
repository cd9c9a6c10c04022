/**
 * A cookie session for @plinth/http, as @fastify/session keeps one: the cookie holds a signed
 * session id, the state store holds the session's fields. Registered inside a module's routes,
 * it opens a "session" scope around each of their handlers, in which session state is read and
 * written; a session starts at its first write and its cookie is sent with that response.
 *
 * It is a plain Fastify plugin (no import of Fastify or @plinth/http): hooks on preHandler
 * (after the server's, so inside the request scope), onSend and onResponse.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { stateErrors } from './errors.js'
import type { SessionContext, StateScopes } from './states.js'

export interface CookieSessionOptions {
  /** Secret(s) that sign the cookie, 32 characters or more; the first signs, all verify (rotation). */
  secret: string | readonly string[]
  /** Default `plinth.sid`. */
  cookieName?: string
  /** Default `/`. */
  path?: string
  domain?: string
  /** Default true outside development. */
  secure?: boolean
  /** Default `Lax`. */
  sameSite?: 'Strict' | 'Lax' | 'None'
}

interface SessionRequest {
  readonly headers: Record<string, string | string[] | undefined>
}
interface SessionReply {
  header(name: string, value: string): unknown
}
interface HookHost {
  addHook(name: string, hook: (...args: any[]) => unknown): unknown
}

/** A Fastify plugin, typed loosely so that it registers on any Fastify instance. */
export type SessionPlugin = ((instance: any, options: unknown, done: (error?: Error) => void) => void) & Record<symbol, unknown>

function sign(id: string, secret: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url')
}

/**
 * The session id of a signed cookie value, or undefined when it is not signed by one of the secrets.
 *
 * @example
 * const id = verifySessionCookie(request.cookies.sid, [process.env.SESSION_SECRET!]) // undefined when forged
 */
export function verifySessionCookie(value: string | undefined, secrets: readonly string[]): string | undefined {
  if (value === undefined) return undefined
  const dot = value.lastIndexOf('.')
  if (dot <= 0) return undefined
  const id = value.slice(0, dot)
  const signature = Buffer.from(value.slice(dot + 1))
  for (const secret of secrets) {
    const expected = Buffer.from(sign(id, secret))
    if (expected.length === signature.length && timingSafeEqual(expected, signature)) return id
  }
  return undefined
}

function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header
  if (text === undefined) return undefined
  for (const part of text.split(';')) {
    const at = part.indexOf('=')
    if (at > 0 && part.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(part.slice(at + 1).trim())
      } catch {
        return undefined
      }
    }
  }
  return undefined
}

/**
 * The cookie session plugin. Register it in the routes that use session state; the session
 * lives in the app's state store (Redis when STATE_URL or REDIS_URL is set).
 *
 * @example
 * export const accountRoutes = provide(Routes, {
 *   deps: { states: States },
 *   create: ({ states }) => async (http) => {
 *     await http.register(cookieSession(states, { secret: process.env.SESSION_SECRET! }))
 *     http.post('/login', async () => { await states.set(user, { id: 'ada' }); return { ok: true } })
 *     http.post('/logout', async () => { await states.endSession(); return { ok: true } })
 *   },
 * })
 */
export function cookieSession(states: StateScopes, options: CookieSessionOptions): SessionPlugin {
  const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret]
  if (secrets.length === 0 || secrets.some((secret) => typeof secret !== 'string' || secret.length < 32)) {
    throw stateErrors.create('PLINTH_ERR_STATE_INVALID_OPTIONS', 'the cookie session needs a secret of at least 32 characters (a list of them to rotate)')
  }
  const name = options.cookieName ?? 'plinth.sid'
  const attributes = [
    `Path=${options.path ?? '/'}`,
    ...(options.domain ? [`Domain=${options.domain}`] : []),
    'HttpOnly',
    `SameSite=${options.sameSite ?? 'Lax'}`,
    ...((options.secure ?? process.env.APP_ENV !== 'development') ? ['Secure'] : []),
  ].join('; ')
  const sessions = new WeakMap<object, { session: SessionContext; dispose(): Promise<void> }>()

  const plugin = ((http: HookHost, _options: unknown, done: (error?: Error) => void) => {
    http.addHook('preHandler', (request: SessionRequest, _reply: SessionReply, next: (error?: Error) => void) => {
      const id = verifySessionCookie(readCookie(request.headers.cookie, name), secrets)
      states.openSession(id).then(({ scope, session }) => {
        sessions.set(request, { session, dispose: () => scope.dispose() })
        scope.run(next)
      }, next)
    })
    http.addHook('onSend', (request: SessionRequest, reply: SessionReply, payload: unknown, next: (error: Error | null, payload: unknown) => void) => {
      const session = sessions.get(request)?.session
      if (session?.ended && session.id === undefined) reply.header('set-cookie', `${name}=; ${attributes}; Max-Age=0`)
      else if (session?.started && session.id !== undefined) {
        const value = `${session.id}.${sign(session.id, secrets[0]!)}`
        reply.header('set-cookie', `${name}=${encodeURIComponent(value)}; ${attributes}; Max-Age=${Math.floor(states.sessionTtl / 1000)}`)
      }
      next(null, payload)
    })
    http.addHook('onResponse', async (request: SessionRequest) => {
      await sessions.get(request)?.dispose()
    })
    done()
  }) as SessionPlugin
  // As fastify-plugin does: the hooks apply to the routes of the context that registers it.
  plugin[Symbol.for('skip-override')] = true
  plugin[Symbol.for('fastify.display-name')] = 'plinth-cookie-session'
  return plugin
}
