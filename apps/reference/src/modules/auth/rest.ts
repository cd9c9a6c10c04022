import { Auth, AuthGuard, CurrentPrincipal, authErrors } from '@plinth/auth'
import { accessor, provide } from '@plinth/core'
import { HttpProblem, Routes } from '@plinth/http'
import { AppConfig } from '../../config.js'
import { unavailableOf } from '../../database.js'
import { toHttpProblem } from '../../problems.js'
import { responses } from '../../openapi.js'

const tags = ['auth']
const credentials = {
  type: 'object',
  required: ['email', 'password'],
  properties: { email: { type: 'string', maxLength: 320 }, password: { type: 'string', maxLength: 1_024 } },
}
const refreshBody = { type: 'object', required: ['refreshToken'], properties: { refreshToken: { type: 'string', maxLength: 200 } } }
const rolesBody = { type: 'object', required: ['roles'], properties: { roles: { type: 'array', items: { type: 'string' }, maxItems: 16 } } }

/**
 * Auth errors at the REST edge: a lockout is 429 with Retry-After; a failed login is 401 with a
 * challenge (RFC 9110 asks every 401 for one); an unreachable database is 503 with Retry-After,
 * the same problem the other modules' routes answer. Other errors go on to the server's problem
 * handler.
 */
function toProblem(error: unknown, request: { readonly method: string }, realm: string, retryAfter: number): unknown {
  const unavailable = unavailableOf(error, retryAfter)
  if (unavailable !== undefined) return toHttpProblem(unavailable, request)
  if (authErrors.is(error, 'PLINTH_ERR_AUTH_LOCKED')) {
    const retryAfter = Number(error.details?.retryAfter ?? 1)
    return new HttpProblem(429, { detail: error.message, headers: { 'retry-after': String(retryAfter) }, extensions: { code: error.code, retryAfter } })
  }
  if (authErrors.is(error, 'PLINTH_ERR_AUTH_INVALID_CREDENTIALS') || authErrors.is(error, 'PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN')) {
    return new HttpProblem(401, { detail: error.message, headers: { 'www-authenticate': `Bearer realm="${realm}"` }, extensions: { code: error.code } })
  }
  return error
}

/**
 * The auth REST API under /api/v1/auth: register, login, refresh, logout (this session),
 * logout-all (every session), me, and for admins role changes and key rotation.
 */
export const authRoutes = provide(Routes, {
  deps: { auth: Auth, guard: AuthGuard, principal: accessor(CurrentPrincipal), config: AppConfig },
  create: ({ auth, guard, principal, config }) => ({
    prefix: '/api/v1/auth',
    register: (http) => {
      http.setErrorHandler((error, request) => {
        throw toProblem(error, request, guard.realm, config.database.retryAfter)
      })
      const client = (request: { ip: string }) => ({ ip: request.ip })

      http.post('/register', { schema: { tags, summary: 'Create an account (password policy: 15+ characters, not a common password)', body: credentials, response: responses({ 201: 'The account' }, [400, 409, 415, 503]) } }, async (request, reply) => {
        let user = await auth.register(request.body, client(request))
        // The first administrators are named in the configuration (AUTH_ADMIN_EMAILS).
        if (config.auth.adminEmails.includes(user.email)) user = await auth.changeRoles(user.id, ['admin'], 'configuration')
        return reply.code(201).send(user)
      })
      http.post('/login', { schema: { tags, summary: 'Exchange email and password for an access and a refresh token', body: credentials, response: responses({ 200: 'An access and a refresh token' }, [400, 401, 415, 503]) } }, (request) => auth.login(request.body, client(request)))
      http.post<{ Body: { refreshToken: string } }>('/refresh', { schema: { tags, summary: 'Rotate a refresh token; a used one revokes its session', body: refreshBody, response: responses({ 200: 'A new access and refresh token' }, [400, 401, 415, 503]) } }, (request) => {
        return auth.refresh(request.body.refreshToken, client(request))
      })
      http.post('/logout', { preValidation: guard.rest(), schema: { tags, summary: 'End this session', response: responses({ 204: 'Ended' }, [401, 503]) } }, async (request, reply) => {
        await auth.logout(principal().require(), client(request))
        return reply.code(204).send()
      })
      http.post('/logout-all', { preValidation: guard.rest(), schema: { tags, summary: 'End every session of this account', response: responses({ 200: 'How many sessions ended' }, [401, 503]) } }, async (request) => {
        return { sessions: await auth.logoutAll(principal().require().userId, client(request)) }
      })
      http.get('/me', { preValidation: guard.rest(), schema: { tags, summary: 'The account of the access token', response: responses({ 200: 'The account and its permissions' }, [401, 503]) } }, async () => {
        const current = principal().require()
        return { ...(await auth.me(current)), permissions: [...current.permissions] }
      })
      http.put<{ Params: { id: string }; Body: { roles: string[] } }>('/users/:id/roles', { preValidation: guard.rest('users:manage'), schema: { tags, summary: "Replace a user's roles (admin); takes effect at once", body: rolesBody, response: responses({ 200: 'The account with its new roles' }, [400, 401, 403, 404, 415, 503]) } }, (request) => {
        return auth.changeRoles(request.params.id, request.body.roles, principal().require().userId)
      })
      http.post('/keys/rotate', { preValidation: guard.rest('keys:rotate'), schema: { tags, summary: 'Sign access tokens with a new key (admin); earlier tokens verify until they expire', response: responses({ 200: 'The new key' }, [401, 403, 503]) } }, () => auth.rotateSigningKey())
    },
  }),
})

/** The public keys that verify access tokens (RFC 7517), for other services and gateways. */
export const jwksRoute = provide(Routes, {
  deps: { auth: Auth },
  create: ({ auth }) => (http) => {
    http.get('/.well-known/jwks.json', { schema: { tags, summary: 'The JSON Web Key Set that verifies access tokens' } }, (_request, reply) => {
      return reply.header('cache-control', 'public, max-age=300').send(auth.jwks())
    })
  },
})
