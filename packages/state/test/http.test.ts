import { setImmediate as tick } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { createApp, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Routes, httpServer } from '@plinth/http'
import { States, appState, cookieSession, state, verifySessionCookie } from '@plinth/state'

const secret = 'a-test-secret-of-at-least-32-characters!'
const trace = state('trace').of<string>()
const cart = state('cart').of<string[]>({ scope: 'session' })

const routes = provide(Routes, {
  deps: { states: States },
  create: ({ states }) => async (http: import('fastify').FastifyInstance) => {
    await http.register(cookieSession(states, { secret, secure: false }))
    http.get<{ Params: { n: string } }>('/echo/:n', async (request) => {
      await states.set(trace, request.params.n)
      await states.set(cart, [request.params.n])
      for (let i = 0; i < Number(request.params.n) % 7; i++) await tick()
      return { n: await states.get(trace), cart: await states.get(cart) }
    })
    http.post<{ Params: { item: string } }>('/cart/:item', async (request) => ({ cart: await states.update(cart, (items = []) => [...items, request.params.item]) }))
    http.get('/cart', async () => ({ cart: (await states.get(cart)) ?? [] }))
    http.post('/logout', async () => {
      await states.endSession()
      return { ok: true }
    })
  },
})

async function boot() {
  const server = httpServer({ listen: false })
  const t = await startTestApp(createApp({ name: 'session-test', components: [server, ...appState(), routes], logging: { level: 'silent' } }))
  return { t, http: t.get(server).fastify, [Symbol.asyncDispose]: () => t[Symbol.asyncDispose]() }
}

const cookieOf = (header: string | string[] | number | undefined) => String(header).split(';')[0]!

describe('state over HTTP', () => {
  it('gives each of 1,000 interleaved requests its own request state, and each new session its own session state', async () => {
    await using booted = await boot()
    const responses = await Promise.all(Array.from({ length: 1_000 }, (_, n) => booted.http.inject(`/echo/${n}`)))
    expect(responses.map((response) => response.json<{ n: string; cart: string[] }>())).toEqual(Array.from({ length: 1_000 }, (_, n) => ({ n: String(n), cart: [String(n)] })))
    expect(new Set(responses.map((response) => String(response.headers['set-cookie']))).size).toBe(1_000)
  })

  it('keeps a session in a signed cookie across requests, and forgets it at logout', async () => {
    await using booted = await boot()
    const { http } = booted
    const first = await http.inject({ method: 'POST', url: '/cart/apple' })
    expect(first.json()).toEqual({ cart: ['apple'] })
    const setCookie = String(first.headers['set-cookie'])
    expect(setCookie).toMatch(/^plinth\.sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=86400$/)
    const cookie = cookieOf(first.headers['set-cookie'])
    expect(verifySessionCookie(decodeURIComponent(cookie.split('=')[1]!), [secret])).toBeDefined()

    const second = await http.inject({ method: 'POST', url: '/cart/pear', headers: { cookie } })
    expect(second.json()).toEqual({ cart: ['apple', 'pear'] })
    expect(second.headers['set-cookie']).toBeUndefined()
    // Another client, without the cookie, has a cart of its own.
    expect((await http.inject('/cart')).json()).toEqual({ cart: [] })

    const logout = await http.inject({ method: 'POST', url: '/logout', headers: { cookie } })
    expect(String(logout.headers['set-cookie'])).toContain('Max-Age=0')
    expect((await http.inject({ url: '/cart', headers: { cookie } })).json()).toEqual({ cart: [] })
  })

  it('ignores a cookie whose signature does not match', async () => {
    await using booted = await boot()
    const { http } = booted
    const first = await http.inject({ method: 'POST', url: '/cart/apple' })
    const [name, value] = cookieOf(first.headers['set-cookie']).split('=') as [string, string]
    const forged = `${name}=${encodeURIComponent(`${decodeURIComponent(value).split('.')[0]}.forged`)}`
    expect((await http.inject({ url: '/cart', headers: { cookie: forged } })).json()).toEqual({ cart: [] })
  })

  it('keeps concurrent writes of one session: none overwrites another', async () => {
    await using booted = await boot()
    const { http } = booted
    const cookie = cookieOf((await http.inject({ method: 'POST', url: '/cart/first' })).headers['set-cookie'])
    await Promise.all(Array.from({ length: 30 }, (_, i) => http.inject({ method: 'POST', url: `/cart/item-${i}`, headers: { cookie } })))
    const { cart: items } = (await http.inject({ url: "/cart", headers: { cookie } })).json<{ cart: string[] }>()
    expect(items).toHaveLength(31)
    expect(new Set(items).size).toBe(31)
  })

  it('refuses a secret too short to sign with', () => {
    expect(() => cookieSession({} as never, { secret: 'short' })).toThrow('at least 32 characters')
  })
})
