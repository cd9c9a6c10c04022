import { randomUUID } from 'node:crypto'
import { setImmediate as tick } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createApp } from '@plinth/core'
import { probeService, startTestApp } from '@plinth/core/testing'
import { MemoryStateStore, RedisStateStore, States, appState, state, stateErrors, type StateStore } from '@plinth/state'

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })

const trace = state('trace').of<string>()
const cart = state('cart').of<{ items: string[] }>({ scope: 'session' })
const visits = state('visits').of<number>({ scope: 'app' })
const banner = state('banner').of<string>({ scope: 'app' })

async function boot(store: StateStore) {
  const t = await startTestApp(createApp({ name: 'state-test', components: [...appState({ store })], logging: { level: 'silent' } }))
  return { t, states: t.get(States), container: t.app.container, [Symbol.asyncDispose]: () => t[Symbol.asyncDispose]() }
}

const stores: Array<[string, () => Promise<{ store: StateStore; done: () => Promise<void> }>]> = [
  ['memory', () => Promise.resolve({ store: new MemoryStateStore(), done: () => Promise.resolve() })],
]
if (redis.available) {
  stores.push([
    'Redis',
    async () => {
      const prefix = `plinth-test:states:${randomUUID().slice(0, 8)}`
      const store = new RedisStateStore({ url: 'redis://127.0.0.1:6379', prefix, sweepInterval: 20 })
      return {
        store,
        done: async () => {
          const admin = new Redis('redis://127.0.0.1:6379')
          const keys = await admin.keys(`${prefix}*`)
          if (keys.length > 0) await admin.unlink(...keys)
          await admin.quit()
        },
      }
    },
  ])
}

// Each test's Redis keys are removed after it, passed or failed.
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

describe.each(stores)('state in scopes, on %s', (_name, openStore) => {
  const makeStore = async () => {
    const made = await openStore()
    cleanups.push(made.done)
    return { store: made.store }
  }
  it('keeps request state to its request, and drops it when the request ends', async () => {
    const { store } = await makeStore()
    await using booted = await boot(store)
    const { states, container } = booted
    const seen = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        container.runInScope('request', async () => {
          await states.set(trace, `request-${i}`)
          // Interleave: let the other requests run between the write and the read.
          for (let n = 0; n < i % 5; n++) await tick()
          return states.get(trace)
        }),
      ),
    )
    expect(seen).toEqual(Array.from({ length: 1_000 }, (_, i) => `request-${i}`))
    expect(await container.runInScope('request', () => states.get(trace))).toBeUndefined()
  })

  it('refuses request state outside a request, saying so', async () => {
    const { store } = await makeStore()
    await using booted = await boot(store)
    await expect(booted.states.get(trace)).rejects.toSatisfy((error) => stateErrors.is(error, 'PLINTH_ERR_STATE_NO_SCOPE'))
    await expect(booted.states.get(cart)).rejects.toThrow('no session scope is active')
  })

  it('keeps session state across the requests of one session, apart from other sessions', async () => {
    const { store } = await makeStore()
    await using booted = await boot(store)
    const { states } = booted
    const first = await states.inSession(undefined, async (session) => {
      expect(await states.get(cart)).toBeUndefined()
      await states.set(cart, { items: ['apple'] })
      expect(session.started).toBe(true)
      return session.id!
    })
    await states.inSession(first, async () => {
      await states.update(cart, (current) => ({ items: [...(current?.items ?? []), 'pear'] }))
    })
    expect(await states.inSession(first, () => states.get(cart))).toEqual({ items: ['apple', 'pear'] })
    expect(await states.inSession(undefined, () => states.get(cart))).toBeUndefined()
    expect(await states.inSession('forged-id', () => states.get(cart))).toBeUndefined()
  })

  it('never revives an ended session: a request still running cannot write to it', async () => {
    const { store } = await makeStore()
    await using booted = await boot(store)
    const { states } = booted
    const id = await states.inSession(undefined, async (session) => {
      await states.set(cart, { items: ['apple'] })
      return session.id!
    })
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const slow = states.inSession(id, async () => {
      await held // the logout happens meanwhile
      await states.update(cart, (current) => ({ items: [...(current?.items ?? []), 'late'] }))
    })
    await states.inSession(id, () => states.endSession())
    release()
    await expect(slow).rejects.toSatisfy((error) => stateErrors.is(error, 'PLINTH_ERR_STATE_SESSION_ENDED'))
    expect(await states.inSession(id, (session) => session.id)).toBeUndefined()
    expect(await store.get(`session:${id}`, 'cart')).toBeUndefined()
  })

  it('updates app state atomically under concurrency', async () => {
    const { store } = await makeStore()
    await using booted = await boot(store)
    const { states } = booted
    await Promise.all(Array.from({ length: 50 }, () => states.update(visits, (n = 0) => n + 1)))
    expect(await states.get(visits)).toBe(50)
    expect(await states.compareAndSet(visits, 49, 0)).toBe(false)
    expect(await states.compareAndSet(visits, 50, 0)).toBe(true)
  })

  it('fires watchers on change and on expiry', async () => {
    const { store } = await makeStore()
    await using booted = await boot(store)
    const { states } = booted
    const seen: string[] = []
    const stop = await states.watch(banner, (value, change) => seen.push(`${change}:${value ?? ''}`))
    await states.set(banner, 'maintenance at 6', { ttl: 60 })
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual(['set:maintenance at 6', 'expire:'])
    await stop()
  })

  it('refuses values JSON would change, and bad TTLs', async () => {
    const { store } = await makeStore()
    await using booted = await boot(store)
    const { states } = booted
    await expect(states.set(banner, new Date() as unknown as string)).rejects.toThrow('$ is a Date')
    await expect(states.set(banner, 'x', { ttl: -1 })).rejects.toSatisfy((error) => stateErrors.is(error, 'PLINTH_ERR_STATE_INVALID_TTL'))
    await expect(states.watch(trace, () => undefined)).rejects.toThrow('request scope')
  })
})

describe('state keys', () => {
  it('are checked where they are declared', () => {
    expect(() => state('').of()).toThrow('is not 1 to 256 characters')
    expect(() => state('a\nb').of()).toThrow('without newlines')
    expect(() => state('x').of({ scope: 'galaxy' as 'app' })).toThrow('use request, session or app')
    expect(() => state('x').of({ ttl: 0 })).toThrow('give a positive number')
  })
})
