/**
 * The auth module end to end with real clients: fetch for REST, @grpc/grpc-js, GraphQL over
 * HTTP, ws. Register, log in, call, refresh, reuse an old refresh token, lock out and recover,
 * change a role, log out; and device registration guarded on all four servers.
 */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { credentials, loadPackageDefinition, Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { KeyRing, MemoryAuthStore, createAuthentication } from '@plinth/auth'
import { probeService } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphql, WsClient } from './clients.js'
import { startService, unique, type Service } from './service.js'

const password = 'a long enough passphrase for tests'
const admin = 'admin@reference.test'

interface Reply {
  status: number
  headers: Headers
  body: any
}

describe('auth, end to end', () => {
  let service: Service
  beforeAll(async () => {
    service = await startService({ AUTH_ADMIN_EMAILS: admin, AUTH_ACCOUNT_FAILURES: '3', AUTH_BASE_LOCKOUT: '1000', AUTH_ISSUER: 'https://reference.test' })
  })
  afterAll(() => service?.stop())

  const call = async (method: string, path: string, options: { token?: string; body?: unknown; base?: string } = {}): Promise<Reply> => {
    const headers: Record<string, string> = {}
    if (options.token) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`${options.base ?? service.urls.http}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
  }
  const account = async (email = `${unique('user')}@example.com`) => {
    const registered = await call('POST', '/api/v1/auth/register', { body: { email, password } })
    expect(registered.status, JSON.stringify(registered.body)).toBe(201)
    const login = await call('POST', '/api/v1/auth/login', { body: { email, password } })
    expect(login.status, JSON.stringify(login.body)).toBe(200)
    return { email, id: registered.body.id as string, ...(login.body as { accessToken: string; refreshToken: string }) }
  }
  const registerDevice = (token?: string) => call('POST', '/api/v1/telemetry/devices', { ...(token ? { token } : {}), body: { id: unique('thermo'), kind: 'thermometer' } })

  it('registers, logs in and calls: /me answers with the account, device reading is open, registering needs devices:write', async () => {
    const user = await account()
    const me = await call('GET', '/api/v1/auth/me', { token: user.accessToken })
    expect(me.body).toMatchObject({ id: user.id, email: user.email, roles: ['user'], permissions: [] })
    expect((await call('GET', '/api/v1/telemetry/devices')).status).toBe(200)

    const anonymous = await registerDevice()
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('content-type')).toBe('application/problem+json')
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="plinth-reference"')
    const forbidden = await registerDevice(user.accessToken)
    expect(forbidden.status).toBe(403)
    expect(forbidden.headers.get('www-authenticate')).toBe('Bearer realm="plinth-reference", error="insufficient_scope", scope="devices:write"')
    expect(forbidden.body).toMatchObject({ status: 403, title: 'Forbidden', detail: 'this operation needs the permission "devices:write", which the roles "user" do not grant' })
    // The guard answers before the body is validated: a caller without the right token learns nothing of the schema.
    for (const token of [undefined, user.accessToken]) {
      const invalid = await call('POST', '/api/v1/telemetry/devices', { ...(token ? { token } : {}), body: { id: 7 } })
      expect(invalid.status).toBe(token ? 403 : 401)
      expect(invalid.body).not.toHaveProperty('errors')
    }
  })

  it('refuses a weak password and a second account for one email, as problem details', async () => {
    const weak = await call('POST', '/api/v1/auth/register', { body: { email: `${unique('weak')}@example.com`, password: 'password1' } })
    expect(weak.status).toBe(422)
    expect(weak.body.detail).toMatch(/use at least 15, and is on the list of commonly used passwords/)
    const { email } = await account()
    const again = await call('POST', '/api/v1/auth/register', { body: { email, password } })
    expect([again.status, again.body.detail]).toEqual([409, `${email} is registered already`])
  })

  it('refreshes with rotation; reusing an old refresh token revokes the whole session', async () => {
    const user = await account()
    const second = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })
    expect(second.status).toBe(200)
    expect(second.body.refreshToken).not.toBe(user.refreshToken)
    expect((await call('GET', '/api/v1/auth/me', { token: second.body.accessToken })).status).toBe(200)

    const reuse = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })
    expect(reuse.status).toBe(401)
    expect(reuse.body.detail).toBe('the refresh token was already used; the session is revoked, log in again')
    expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: second.body.refreshToken } })).status).toBe(401)
    const revoked = await call('GET', '/api/v1/auth/me', { token: second.body.accessToken })
    expect(revoked.status).toBe(401)
    expect(revoked.headers.get('www-authenticate')).toMatch(/error="invalid_token", error_description="the access token has been revoked; log in again"/)
    expect(await service.metrics()).toMatch(/^auth_refresh_reuse_total 1$/m)
  })

  it('locks an account out after repeated failures with Retry-After, the same for an unknown email, and lets it in after the window', async () => {
    const user = await account()
    const ghost = `${unique('ghost')}@example.com`
    for (const email of [user.email, ghost]) {
      for (let i = 0; i < 3; i++) {
        const failed = await call('POST', '/api/v1/auth/login', { body: { email, password: 'not the right passphrase' } })
        expect([failed.status, failed.body.detail]).toEqual([401, 'the email or the password is wrong'])
      }
      const locked = await call('POST', '/api/v1/auth/login', { body: { email, password } })
      expect(locked.status).toBe(429)
      expect(locked.headers.get('retry-after')).toBe('1')
      expect(locked.body.detail).toBe('too many failed logins; try again in 1 s')
      // The same member as the rate limit's 429 and every 503: `retryAfter`, in seconds.
      expect(locked.body.retryAfter).toBe(1)
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expect((await call('POST', '/api/v1/auth/login', { body: { email: user.email, password } })).status).toBe(200)
    expect(await service.metrics()).toMatch(/^auth_lockouts_total\{scope="account"\} 2$/m)
  })

  it('makes a role change take effect at once: the old token is refused, a refresh carries the new role', async () => {
    const boss = await account(admin)
    expect((await call('GET', '/api/v1/auth/me', { token: boss.accessToken })).body.roles).toEqual(['admin'])
    const user = await account()
    expect((await registerDevice(user.accessToken)).status).toBe(403)
    const changed = await call('PUT', `/api/v1/auth/users/${user.id}/roles`, { token: boss.accessToken, body: { roles: ['operator'] } })
    expect(changed.body).toMatchObject({ id: user.id, roles: ['operator'] })
    expect((await registerDevice(user.accessToken)).status).toBe(401)
    const refreshed = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })
    expect((await registerDevice(refreshed.body.accessToken)).status).toBe(201)
    // Only an admin changes roles, and only to declared ones.
    expect((await call('PUT', `/api/v1/auth/users/${user.id}/roles`, { token: refreshed.body.accessToken, body: { roles: ['admin'] } })).status).toBe(403)
    expect((await call('PUT', `/api/v1/auth/users/${user.id}/roles`, { token: boss.accessToken, body: { roles: ['root'] } })).body.detail).toBe('unknown role "root"; declared: admin, operator, user')
  })

  it('logs out one session, then every session', async () => {
    const user = await account()
    const phone = (await call('POST', '/api/v1/auth/login', { body: { email: user.email, password } })).body
    expect((await call('POST', '/api/v1/auth/logout', { token: user.accessToken })).status).toBe(204)
    expect((await call('GET', '/api/v1/auth/me', { token: user.accessToken })).status).toBe(401)
    expect((await call('GET', '/api/v1/auth/me', { token: phone.accessToken })).status).toBe(200)
    const tablet = (await call('POST', '/api/v1/auth/login', { body: { email: user.email, password } })).body
    expect((await call('POST', '/api/v1/auth/logout-all', { token: phone.accessToken })).body).toEqual({ sessions: 2 })
    for (const session of [phone, tablet]) {
      expect((await call('GET', '/api/v1/auth/me', { token: session.accessToken })).status).toBe(401)
      expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } })).status).toBe(401)
    }
  })

  it('publishes the JWKS that a third party verifies access tokens with', async () => {
    const user = await account()
    const jwks = await call('GET', '/.well-known/jwks.json')
    for (const key of jwks.body.keys) expect(key).toEqual({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String), x: expect.any(String) })
    // Verified with node:crypto alone, as a service in another stack would.
    const [header, payload, signature] = user.accessToken.split('.') as [string, string, string]
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    const key = jwks.body.keys.find((k: { kid: string }) => k.kid === decode(header).kid) as JsonWebKey
    expect(verify(null, Buffer.from(`${header}.${payload}`), createPublicKey({ key, format: 'jwk' }), Buffer.from(signature, 'base64url'))).toBe(true)
    expect(decode(payload)).toMatchObject({ sub: user.id, iss: 'https://reference.test', aud: 'plinth-reference-api' })
  })

  it('rotates the signing key on an admin\'s request: new tokens use it, earlier ones still verify, the JWKS holds both', async () => {
    // The admin account may exist already (the role-change test makes it).
    await call('POST', '/api/v1/auth/register', { body: { email: admin, password } })
    const boss = (await call('POST', '/api/v1/auth/login', { body: { email: admin, password } })).body as { accessToken: string }
    const user = await account()
    const kid = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')).kid as string
    expect((await call('POST', '/api/v1/auth/keys/rotate', { token: user.accessToken })).status).toBe(403)
    const rotated = await call('POST', '/api/v1/auth/keys/rotate', { token: boss.accessToken })
    expect(rotated.body.kid).not.toBe(kid(user.accessToken))
    expect((await call('GET', '/api/v1/auth/me', { token: user.accessToken })).status).toBe(200)
    const fresh = (await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })).body as { accessToken: string }
    expect(kid(fresh.accessToken)).toBe(rotated.body.kid)
    expect((await call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)).toEqual([rotated.body.kid, kid(user.accessToken)])
  })

  describe('device registration on the other servers', () => {
    const proto = fileURLToPath(new URL('../proto/plinth/telemetry/v1/devices.proto', import.meta.url))
    const register = (token: string | undefined) => {
      const Devices = (loadPackageDefinition(loadSync(proto, { keepCase: true, defaults: true })) as any).plinth.telemetry.v1.Devices
      const client = new Devices(service.urls.grpc!.replace(/^grpc:\/\//, ''), credentials.createInsecure())
      const metadata = new Metadata()
      if (token) metadata.set('authorization', `Bearer ${token}`)
      return new Promise<any>((resolve, reject) => {
        client.RegisterDevice({ id: unique('pump'), kind: 'pump' }, metadata, { deadline: Date.now() + 5_000 }, (error: ServiceError | null, device: unknown) => (error ? reject(error) : resolve(device)))
      }).finally(() => client.close())
    }

    it('gRPC: the token in the authorization metadata; UNAUTHENTICATED, PERMISSION_DENIED, then registered', async () => {
      const user = await account()
      await expect(register(undefined)).rejects.toMatchObject({ code: status.UNAUTHENTICATED })
      await expect(register(user.accessToken)).rejects.toMatchObject({ code: status.PERMISSION_DENIED })
      expect(await register(service.operatorToken)).toMatchObject({ kind: 'pump' })
    })

    it('GraphQL: the Authorization header; UNAUTHENTICATED, FORBIDDEN, then registered', async () => {
      const user = await account()
      const mutation = 'mutation($id: ID!) { registerDevice(id: $id, kind: "pump", metadata: [{ key: "site", value: "north" }]) { id kind metadata { key value } } }'
      const send = async (token?: string) => {
        const res = await fetch(service.urls.graphql!, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query: mutation, variables: { id: unique('pump') } }) })
        return (await res.json()) as { data?: any; errors?: Array<{ extensions: { code: string } }> }
      }
      expect((await send()).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED')
      expect((await send(user.accessToken)).errors?.[0]?.extensions.code).toBe('FORBIDDEN')
      expect((await send(service.operatorToken)).data.registerDevice).toMatchObject({ kind: 'pump', metadata: [{ key: 'site', value: 'north' }] })
      // Reading stays open.
      expect((await graphql(service.urls.graphql!, '{ devices(limit: 1) { id } }')).errors).toBeUndefined()
    })

    it('WebSocket: the connection authenticates, then registers; without it, or without the permission, it is refused', async () => {
      const user = await account()
      const ws = await WsClient.connect(service.urls.websocket!)
      try {
        expect((await ws.request('telemetry.registerDevice', { id: unique('pump'), kind: 'pump' })).error).toMatchObject({ code: 'unauthenticated' })
        expect((await ws.request('auth.authenticate', { token: 'not-a-token' })).error).toMatchObject({ code: 'unauthenticated' })
        expect((await ws.request('auth.authenticate', { token: user.accessToken })).data).toMatchObject({ userId: user.id, roles: ['user'] })
        expect((await ws.request('telemetry.registerDevice', { id: unique('pump'), kind: 'pump' })).error).toMatchObject({ code: 'forbidden' })
        await ws.request('auth.authenticate', { token: service.operatorToken })
        expect((await ws.request('telemetry.registerDevice', { id: unique('pump'), kind: 'pump' })).data).toMatchObject({ kind: 'pump' })
      } finally {
        ws.close()
      }
    })
  })
})

describe('auth with shared signing keys (AUTH_SIGNING_KEYS)', () => {
  it('verifies tokens signed elsewhere with the same key, and publishes that key', async () => {
    const ring = await KeyRing.generate({ retainFor: 60_000 })
    const keys = await ring.exportPrivateJwks()
    await using service = await startService({ AUTH_SIGNING_KEYS: JSON.stringify(keys) })
    // Another instance: same keys, same issuer and audience (the defaults).
    const twin = await createAuthentication({ store: new MemoryAuthStore(), roles: { operator: ['devices:write'] }, issuer: 'plinth-reference', audience: 'plinth-reference-api', signingKeys: keys })
    const token = await twin.issueServiceToken('other-instance', ['operator'])
    const res = await fetch(`${service.urls.http}/api/v1/telemetry/devices`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: unique('pump'), kind: 'pump' }) })
    expect(res.status).toBe(201)
    expect(((await (await fetch(`${service.urls.http}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)).toEqual([ring.signing.kid])
  })

  it('refuses to start with keys that are not a JSON array of JWKs, naming the variable', async () => {
    const error = await startService({ AUTH_SIGNING_KEYS: 'not json' }).then(
      async (service) => {
        await service.stop()
        return undefined
      },
      (e: unknown) => e as Error,
    )
    expect(String((error as { describe?: () => string })?.describe?.() ?? error)).toMatch(/PLINTH_ERR_INVALID_CONFIG[\s\S]*auth\.signingKeys\S* = \[redacted\] \(env AUTH_SIGNING_KEYS\): must be a private JWK object; AUTH_SIGNING_KEYS holds a JSON array of them/)
  })
})

describe('auth while the database is down', () => {
  it('answers register and login with the 503 every other route gives, Retry-After and no stack, even in development', async () => {
    await using service = await startService({ DATABASE_URL: 'postgres://127.0.0.1:1/down', APP_ENV: 'development' })
    const body = { email: `${unique('user')}@example.com`, password }
    const answers = [
      { path: '/api/v1/auth/register', ...(await service.rest('POST', '/api/v1/auth/register', body, { token: null })) },
      { path: '/api/v1/auth/login', ...(await service.rest('POST', '/api/v1/auth/login', body, { token: null })) },
      { path: '/api/v1/telemetry/devices', ...(await service.rest('GET', '/api/v1/telemetry/devices')) },
    ]
    for (const { path, status, headers, body: problem } of answers) {
      expect(status, JSON.stringify(problem)).toBe(503)
      expect(headers.get('retry-after')).toBe('5')
      expect(headers.get('content-type')).toBe('application/problem+json')
      expect(problem).toEqual({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'the database is unavailable; try again in 5 s', retryAfter: 5, instance: path, requestId: expect.any(String) })
    }
  })
})

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', async () => {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  try {
    await client.connect()
    await client.ping()
  } finally {
    client.disconnect()
  }
})

describe.skipIf(!redis.available)(redis.title('two instances sharing Redis (REDIS_URL)'), () => {
  it('count failed logins together and honour each other\'s lockouts and logouts', async () => {
    const keys = await (await KeyRing.generate({ retainFor: 60_000 })).exportPrivateJwks()
    const env = { REDIS_URL: redisUrl, AUTH_SIGNING_KEYS: JSON.stringify(keys), AUTH_ACCOUNT_FAILURES: '3', AUTH_BASE_LOCKOUT: '60000' }
    await using one = await startService(env)
    await using two = await startService(env)
    const email = `${unique('shared')}@example.com`
    const client = new Redis(redisUrl)
    const revoked: string[] = []
    try {
      const post = (service: Service, path: string, body: unknown, token?: string) =>
        fetch(`${service.urls.http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })
      // Two failures on one instance, one on the other: the account is locked on both.
      for (const service of [one, one, two]) expect((await post(service, '/api/v1/auth/login', { email, password: 'not the right passphrase' })).status).toBe(401)
      for (const service of [one, two]) {
        const locked = await post(service, '/api/v1/auth/login', { email, password })
        expect([locked.status, Number(locked.headers.get('retry-after'))]).toEqual([429, expect.any(Number)])
        expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(50)
      }
      // A logout on one instance reaches a token checked by the other.
      const other = `${unique('shared')}@example.com`
      expect((await post(one, '/api/v1/auth/register', { email: other, password })).status).toBe(201)
      const { accessToken } = (await (await post(one, '/api/v1/auth/login', { email: other, password })).json()) as { accessToken: string }
      const me = () => fetch(`${two.urls.http}/api/v1/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } })
      // Instance two verifies the token (shared keys) but has no such user in its own database: 404, not 401.
      expect((await me()).status).toBe(404)
      const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string; sid: string }
      revoked.push(`plinth:reference:auth:revoked:jti:${claims.jti}`, `plinth:reference:auth:revoked:sid:${claims.sid}`)
      expect((await post(one, '/api/v1/auth/logout', {}, accessToken)).status).toBe(204)
      expect((await me()).status).toBe(401)
    } finally {
      // The client address (127.0.0.1) is counted too; its count must not carry over to the next run.
      const leftovers = [...(await client.keys(`plinth:reference:auth:*${email}`)), ...revoked, 'plinth:reference:auth:failures:address:127.0.0.1', 'plinth:reference:auth:lock:address:127.0.0.1']
      if (leftovers.length > 0) await client.del(...leftovers)
      client.disconnect()
    }
  })
})
