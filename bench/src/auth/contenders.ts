/**
 * The servers of the auth rows, each verifying the same EdDSA access token on the JSON route:
 * @fastify/jwt on bare Fastify (the peer), Plinth's guard as a preHandler on bare Fastify (the
 * guard alone), and the Plinth HTTP server as the reference service runs it, with and without
 * the guard. The key comes from the parent as a private JWK (PLINTH_BENCH_JWK), so every server
 * verifies tokens of one key.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import { Auth, AuthGuard, Guard, MemoryAuthStore, auth, createAuthentication, type Authentication } from '@plinth/auth'
import { createApp, provide } from '@plinth/core'
import { Routes, httpServer } from '@plinth/http'
import { fastify, pino } from '../plinth-deps.js'

export interface Running {
  readonly url: string
  close(): Promise<void>
}

export const issuer = 'https://bench.plinth'
export const audience = 'bench'
const body = () => ({ hello: 'world' })
const roles = { user: [] }

type Jwk = Parameters<typeof createAuthentication>[0]['signingKeys'] extends readonly (infer K)[] | undefined ? K : never

function signingKey(): Jwk {
  const raw = process.env.PLINTH_BENCH_JWK
  if (!raw) throw new Error('PLINTH_BENCH_JWK must hold the private JWK the tokens are signed with')
  return JSON.parse(raw) as Jwk
}

/** The authentication service every Plinth contender verifies with (memory store: the route never touches it). */
export function benchAuthentication(): Promise<Authentication> {
  return createAuthentication({ store: new MemoryAuthStore(), roles, issuer, audience, signingKeys: [signingKey()] })
}

async function listen(server: ReturnType<typeof fastify>): Promise<Running> {
  await server.listen({ port: 0, host: '127.0.0.1' })
  const address = server.server.address() as import('node:net').AddressInfo
  return { url: `http://127.0.0.1:${address.port}`, close: () => server.close() }
}

/** Bare Fastify, @fastify/jwt verifying the Bearer token (EdDSA public key, iss and aud checked) in onRequest. */
async function fastifyWithJwt(): Promise<Running> {
  const { d: _private, ...publicJwk } = signingKey()
  const publicKey = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  const server = fastify()
  await server.register(fastifyJwt, { secret: { public: publicKey, private: 'unused' }, verify: { algorithms: ['EdDSA'], allowedIss: issuer, allowedAud: audience } })
  server.addHook('onRequest', async (request) => {
    await request.jwtVerify()
  })
  server.get('/json', body)
  return listen(server)
}

/** Bare Fastify, Plinth's guard as the route's preHandler. */
async function fastifyWithGuard(): Promise<Running> {
  const guard = new Guard(await benchAuthentication(), { realm: 'bench' })
  const server = fastify()
  server.get('/json', { preHandler: guard.rest() }, body)
  return listen(server)
}

/** The Plinth HTTP server with its defaults (as bench/src/http's `plinth`), the JSON route guarded or not. */
async function plinthServer(guarded: boolean): Promise<Running> {
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }))
  const routes = provide(Routes, {
    deps: { guard: AuthGuard },
    create: ({ guard }) => (http) => void http.get('/json', guarded ? { preHandler: guard.rest() } : {}, body),
  })
  const app = createApp({
    name: 'bench',
    components: [httpServer({ port: 0 }), ...auth({ store: new MemoryAuthStore(), roles, issuer, audience, signingKeys: [signingKey()] }), routes],
    logging: logger,
  })
  await app.start({ env: { APP_ENV: 'production' }, argv: [] })
  await app.container.resolve(Auth)
  const url = app.endpoints().find((e) => e.name === 'http')?.url
  if (!url) throw new Error('the Plinth app announced no http endpoint')
  return { url, close: () => app.stop('benchmark finished').then(() => undefined) }
}

export const contenders = {
  'fastify+@fastify/jwt': fastifyWithJwt,
  'fastify+plinth-guard': fastifyWithGuard,
  plinth: () => plinthServer(false),
  'plinth+guard': () => plinthServer(true),
}

export type AuthContender = keyof typeof contenders
