import { accessor, createApp, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Routes, httpServer } from '@plinth/http'
import { describe, expect, it } from 'vitest'
import { Auth, AuthGuard, CurrentPrincipal, MemoryAuthStore, auth, bearerToken } from '../src/index.js'

const password = 'tulip harbour quietly forty-seven'
const roles = { admin: ['*'], operator: ['devices:*'], user: ['devices:read'] }

const routes = provide(Routes, {
  deps: { guard: AuthGuard, principal: accessor(CurrentPrincipal) },
  create: ({ guard, principal }) => ({
    prefix: '/api',
    register: (http) => {
      http.get('/open', () => ({ open: true }))
      // The handler reads the principal the guard put in the request scope.
      http.get('/me', { preValidation: guard.rest() }, () => ({ userId: principal().require().userId }))
      http.post('/devices', { preValidation: guard.rest('devices:write'), schema: { body: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } } }, (_request, reply) => reply.code(201).send({ created: true }))
    },
  }),
})

async function boot() {
  const server = httpServer({ listen: false })
  const app = createApp({
    name: 'guards',
    components: [server, ...auth({ store: new MemoryAuthStore(), roles, defaultRoles: ['user'], issuer: 'https://auth.test', audience: 'guards', argon2: { memoryCost: 1024, timeCost: 1 } }), routes],
    logging: { level: 'silent' },
  })
  const t = await startTestApp(app)
  const service = await t.resolve(Auth)
  const user = await service.register({ email: 'ada@example.com', password })
  const { accessToken } = await service.login({ email: 'ada@example.com', password })
  const fastify = t.get(server).fastify
  return { t, service, user, accessToken, inject: fastify.inject.bind(fastify), guard: await t.resolve(AuthGuard) }
}

describe('the REST guard', () => {
  it('answers 401 problem details with a Bearer challenge when no token is sent, and lets open routes be', async () => {
    const { t, inject } = await boot()
    await using _ = t
    expect((await inject('/api/open')).statusCode).toBe(200)
    const response = await inject('/api/me')
    expect(response.statusCode).toBe(401)
    expect(response.headers['content-type']).toBe('application/problem+json')
    expect(response.headers['www-authenticate']).toBe('Bearer realm="guards"')
    expect(response.json()).toMatchObject({ status: 401, title: 'Unauthorized', detail: 'this operation needs an access token; none was sent' })
  })

  it('answers 401 with error="invalid_token" for a token that does not verify', async () => {
    const { t, inject, accessToken } = await boot()
    await using _ = t
    const response = await inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken.slice(0, -4)}AAAA` } })
    expect(response.statusCode).toBe(401)
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="guards", error="invalid_token", error_description="the access token's signature does not verify"$/)
  })

  it('gives the handler the principal through the request-scoped provider', async () => {
    const { t, inject, accessToken, user } = await boot()
    await using _ = t
    const response = await inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken}` } })
    expect(response.json()).toEqual({ userId: user.id })
  })

  it('answers 403 with error="insufficient_scope" naming the permission, and lets it through after a role change', async () => {
    const { t, inject, accessToken, service, user } = await boot()
    await using _ = t
    const refused = await inject({ method: 'POST', url: '/api/devices', headers: { authorization: `Bearer ${accessToken}` }, payload: { id: 'd1' } })
    expect(refused.statusCode).toBe(403)
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="guards", error="insufficient_scope", scope="devices:write"')
    expect(refused.json().detail).toBe('this operation needs the permission "devices:write", which the roles "user" do not grant')
    await service.changeRoles(user.id, ['operator'])
    const { accessToken: promoted } = await service.login({ email: 'ada@example.com', password })
    expect((await inject({ method: 'POST', url: '/api/devices', headers: { authorization: `Bearer ${promoted}` }, payload: { id: 'd1' } })).statusCode).toBe(201)
  })

  it('refuses a request without the right token before validating its body: 401 or 403, never the schema\'s 400', async () => {
    const { t, inject, accessToken, service, user } = await boot()
    await using _ = t
    const invalid = { id: 7, extra: 'x'.repeat(100) }
    const anonymous = await inject({ method: 'POST', url: '/api/devices', payload: invalid })
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.json()).not.toHaveProperty('errors')
    const unauthorized = await inject({ method: 'POST', url: '/api/devices', headers: { authorization: `Bearer ${accessToken}` }, payload: invalid })
    expect(unauthorized.statusCode).toBe(403)
    await service.changeRoles(user.id, ['operator'])
    const { accessToken: promoted } = await service.login({ email: 'ada@example.com', password })
    const validated = await inject({ method: 'POST', url: '/api/devices', headers: { authorization: `Bearer ${promoted}` }, payload: invalid })
    expect(validated.statusCode).toBe(400)
    expect(validated.json()).toMatchObject({ errors: [{ pointer: '#/body/id' }] })
  })
})

describe('the gRPC, GraphQL and WebSocket guards', () => {
  const metadata = (value?: string) => ({ get: (key: string) => (key === 'authorization' && value ? [value] : []) })

  it('gRPC: reads the token from the authorization metadata and refuses without the permission', async () => {
    const { t, guard, accessToken } = await boot()
    await using _ = t
    const register = guard.grpc('devices:write', (request: { id: string }) => ({ id: request.id }))
    const read = guard.grpc('devices:read', (request: { id: string }) => ({ id: request.id }))
    await expect(register({ id: 'd1' }, { metadata: metadata() })).rejects.toMatchObject({ code: 'PLINTH_ERR_AUTH_UNAUTHENTICATED' })
    await expect(register({ id: 'd1' }, { metadata: metadata(`Bearer ${accessToken}`) })).rejects.toMatchObject({ code: 'PLINTH_ERR_AUTH_FORBIDDEN' })
    expect(await read({ id: 'd1' }, { metadata: metadata(`Bearer ${accessToken}`) })).toEqual({ id: 'd1' })
  })

  it('GraphQL: reads the Authorization header, or connectionParams for a subscription', async () => {
    const { t, guard, accessToken } = await boot()
    await using _ = t
    const field = guard.graphql('devices:read', () => 'secret')
    await expect(field(undefined, {}, { request: { headers: {} } }, undefined)).rejects.toMatchObject({ code: 'PLINTH_ERR_AUTH_UNAUTHENTICATED' })
    expect(await field(undefined, {}, { request: { headers: { authorization: `Bearer ${accessToken}` } } }, undefined)).toBe('secret')
    expect(await field(undefined, {}, { connectionParams: { authorization: accessToken } }, undefined)).toBe('secret')
    await expect(guard.graphql('devices:write', () => 'x')(undefined, {}, { request: { headers: { authorization: `Bearer ${accessToken}` } } }, undefined)).rejects.toMatchObject({ code: 'PLINTH_ERR_AUTH_FORBIDDEN' })
  })

  it('WebSocket: the connection authenticates once, and every message is checked again, so a logout reaches it', async () => {
    const { t, guard, accessToken, service } = await boot()
    await using _ = t
    const context = { connection: { state: new Map<string, unknown>() } }
    const read = guard.ws('devices:read', (data: { id: string }) => data.id)
    await expect(read({ id: 'd1' }, context)).rejects.toThrow(/has not authenticated; send \{ "type": "auth.authenticate"/)
    await guard.authenticateConnection(accessToken, context)
    expect(await read({ id: 'd1' }, context)).toBe('d1')
    await expect(guard.ws('devices:write', () => 1)({}, context)).rejects.toMatchObject({ code: 'PLINTH_ERR_AUTH_FORBIDDEN' })
    await service.logout(await service.authenticate(accessToken))
    await expect(read({ id: 'd1' }, context)).rejects.toThrow(/revoked/)
  })

  it('put the principal in the request scope for the method to read, as the gRPC, GraphQL and WebSocket servers run each call in one', async () => {
    const { t, guard, accessToken, user } = await boot()
    await using _ = t
    const readPrincipal = async () => (await t.app.container.resolve(CurrentPrincipal)).require().userId
    const grpc = guard.grpc(undefined, readPrincipal)
    const graphql = guard.graphql(undefined, readPrincipal)
    const ws = guard.ws(undefined, readPrincipal)
    const context = { connection: { state: new Map<string, unknown>() } }
    await guard.authenticateConnection(accessToken, context)
    expect(await t.app.container.runInScope('request', () => grpc(undefined, { metadata: metadata(`Bearer ${accessToken}`) }))).toBe(user.id)
    expect(await t.app.container.runInScope('request', () => graphql(undefined, undefined, { request: { headers: { authorization: `Bearer ${accessToken}` } } }, undefined))).toBe(user.id)
    expect(await t.app.container.runInScope('request', () => ws(undefined, context))).toBe(user.id)
    // A scope without a guard stays anonymous.
    await expect(t.app.container.runInScope('request', readPrincipal)).rejects.toMatchObject({ code: 'PLINTH_ERR_AUTH_UNAUTHENTICATED' })
  })

  it('parses Bearer headers strictly', () => {
    expect(bearerToken('Bearer abc.def-ghi_jkl')).toBe('abc.def-ghi_jkl')
    expect(bearerToken('bearer abc')).toBe('abc')
    expect(bearerToken(['Bearer abc'])).toBe('abc')
    expect(bearerToken('Basic abc')).toBeUndefined()
    expect(bearerToken('Bearer a b')).toBeUndefined()
    expect(bearerToken(undefined)).toBeUndefined()
  })
})
