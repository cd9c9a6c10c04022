import { describe, expect, it } from 'vitest'
import { Container, PlinthError, accessor, component, optional, provide, token } from '../src/index.js'

interface Clock {
  now(): number
}
const Clock = token('clock').of<Clock>()
const fixedClock = provide(Clock, { value: { now: () => 1_000 } })

function problemsOf(fn: () => unknown): PlinthError {
  try {
    fn()
  } catch (error) {
    if (error instanceof PlinthError) return error
    throw error
  }
  throw new Error('expected a PlinthError')
}

describe('providers', () => {
  it('builds values, sync factories, async factories and classes', async () => {
    class Greeter {
      constructor(readonly deps: { clock: Clock }) {}
      greet() {
        return `hello at ${this.deps.clock.now()}`
      }
    }
    const greeter = component('greeter', { deps: { clock: Clock }, class: Greeter })
    const remote = component('remote', { create: async () => ({ answer: 42 }) })
    const c = new Container([fixedClock, greeter, remote])
    expect(c.get(Clock).now()).toBe(1_000)
    expect(c.get(greeter).greet()).toBe('hello at 1000')
    expect((await c.resolve(remote)).answer).toBe(42)
  })

  it('is lazy: a component no one resolves is never built', () => {
    let built = 0
    const unused = component('unused', { create: () => ++built })
    const used = component('used', { create: () => 'x' })
    const c = new Container([unused, used])
    c.get(used)
    expect(built).toBe(0)
  })

  it('a second resolve while an async singleton is being built gets the same instance, or the same failure', async () => {
    const slow = component('slow', { create: async () => ({ built: true }) })
    const c = new Container([slow])
    const [first, second] = await Promise.all([c.resolve(slow.provides), c.resolve(slow.provides)])
    expect(second).toEqual({ built: true })
    expect(second).toBe(first)
    const broken = component('broken', { create: async (): Promise<number> => Promise.reject(new Error('no route to host')) })
    const d = new Container([broken])
    const results = await Promise.allSettled([d.resolve(broken.provides), d.resolve(broken.provides)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain('no route to host')
  })

  it('a resolve of what depends on an async singleton another resolve is still building waits for it, and builds with it', async () => {
    const bus = component('bus', { create: async () => ({ connected: true }) })
    const pubsub = component('pubsub', { deps: { bus }, create: ({ bus }) => ({ over: bus }) })
    const c = new Container([bus, pubsub])
    const [built, dependent] = await Promise.all([c.resolve(bus.provides), c.resolve(pubsub.provides)])
    expect(dependent.over).toBe(built)
    // The same race when the singleton fails: the dependent fails naming it, with its cause.
    const down = component('down', { create: async (): Promise<number> => Promise.reject(new Error('connection refused')) })
    const user = component('user', { deps: { down }, create: ({ down }) => down + 1 })
    const d = new Container([down, user])
    const results = await Promise.allSettled([d.resolve(down.provides), d.resolve(user.provides)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    const reason = (results[1] as PromiseRejectedResult).reason as Error & { code: string }
    expect(reason.code).toBe('PLINTH_ERR_DEPENDENCY_FAILED')
    expect(String((reason.cause as Error | undefined)?.message)).toContain('connection refused')
  })

  it('refuses a synchronous get of an async factory, naming it, and resolves it asynchronously', async () => {
    const slow = component('slow', { create: async () => 7 })
    const user = component('user', { deps: { slow }, create: ({ slow }) => slow * 2 })
    const c = new Container([slow, user])
    expect(() => c.get(user)).toThrow(/"slow" .*has an async factory/)
    expect(await c.resolve(user)).toBe(14)
    expect(c.get(user)).toBe(14)
  })

  it('wraps a throwing factory with the component name and where it was declared', () => {
    const broken = component('broken', {
      create: () => {
        throw new Error('disk full')
      },
    })
    const c = new Container([broken])
    const error = problemsOf(() => c.get(broken))
    expect(error.code).toBe('PLINTH_ERR_CREATE_FAILED')
    expect(error.message).toMatch(/creating "broken" \(packages\/core\/test\/container\.test\.ts:\d+\) threw: disk full/)
    expect((error.cause as Error).message).toBe('disk full')
  })
})

describe('deps as a function', () => {
  it('is read when the graph is built, so a token declared after the component still resolves', async () => {
    let read = 0
    // `later` does not exist yet when `report` is declared, as with files that import each other in a circle.
    const report = component('lazy-report', {
      deps: () => {
        read++
        return { clock: later, maybe: optional(token('absent').of<number>()) }
      },
      create: ({ clock, maybe }) => ({ at: clock.now(), maybe }),
    })
    const later = provide(Clock, { value: { now: () => 42 } })
    expect(read).toBe(0)
    const container = new Container([later, report])
    expect(await container.resolve(report)).toEqual({ at: 42, maybe: undefined })
    new Container([later, report])
    expect(read).toBe(1)
  })

  it('takes part in validation like the map form: a missing token, an undefined entry with its nearest token, a throw', () => {
    const Database = token('database').of<object>()
    const missing = component('lazy-missing', { deps: () => ({ clock: Clock }), create: () => 1 })
    const undefinedEntry = component('lazy-undefined', { deps: () => ({ database: undefined as unknown as typeof Database }), create: () => 1 })
    const throwing = component('lazy-throwing', {
      deps: (): { clock: typeof Clock } => {
        throw new Error('not yet')
      },
      create: () => 1,
    })
    const database = provide(Database, { value: {} })
    const error = problemsOf(() => new Container([database, missing, undefinedEntry, throwing]))
    expect(error.message).toContain('"lazy-missing" (packages/core/test/container.test.ts:')
    expect(error.message).toContain('depends on "clock" (as deps.clock), which nothing provides')
    expect(error.message).toContain(`deps.database is not a token, optional(token) or accessor(token); got undefined (is the import circular, or the name misspelt?); did you mean "database" (${String(database.site)})?`)
    expect(error.message).toContain('"lazy-throwing" (packages/core/test/container.test.ts:')
    expect(error.message).toContain('its deps() threw Error: not yet')
  })
})

describe('declaration order', () => {
  it('builds dependencies first however the providers are listed, and finds a cycle declared last', () => {
    const built: string[] = []
    const db = component('db', { create: () => built.push('db') })
    const repo = component('repo', { deps: { db }, create: () => built.push('repo') })
    const api = component('api', { deps: { repo, db }, create: () => built.push('api') })
    new Container([api, repo, db]).get(api)
    expect(built).toEqual(['db', 'repo', 'api'])
    const Late = token('late').of<unknown>()
    const early = component('early', { deps: { late: Late }, create: () => 1 })
    const error = problemsOf(() => new Container([early, provide(Late, { deps: { early }, create: () => 2 })]))
    expect(error.message).toContain('dependency cycle: early -> late -> early')
  })

  it('gives one multi token per declaration, however often many() is called', () => {
    const Plugins = token('plugins')
    const c = new Container([provide(Plugins.many<string>(), { value: 'a' }), provide(Plugins.many<string>(), { value: 'b' })])
    expect(c.get(Plugins.many<string>())).toEqual(['a', 'b'])
  })
})

describe('lifetimes', () => {
  it('shares a singleton and builds a new transient each time', () => {
    const single = component('single', { create: () => ({}) })
    const fresh = component('fresh', { lifetime: 'transient', deps: { single }, create: ({ single }) => ({ single }) })
    const c = new Container([single, fresh])
    expect(c.get(single)).toBe(c.get(single))
    expect(c.get(fresh)).not.toBe(c.get(fresh))
    expect(c.get(fresh).single).toBe(c.get(single))
  })

  it('keeps one scoped instance per scope, carried across awaits', async () => {
    let n = 0
    const requestId = component('request-id', { lifetime: 'scoped', create: () => ++n })
    const c = new Container([requestId])
    const seen = await Promise.all(
      [1, 2].map((i) =>
        c.runInScope('request', async () => {
          const first = c.get(requestId)
          await new Promise((r) => setTimeout(r, 5 * i))
          return [first, c.get(requestId)]
        }),
      ),
    )
    expect(seen[0]![0]).toBe(seen[0]![1])
    expect(seen[1]![0]).toBe(seen[1]![1])
    expect(seen[0]![0]).not.toBe(seen[1]![0])
  })

  it('finds a named scope through nesting: a session scope seen from a request inside it', async () => {
    const session = component('session', { lifetime: 'scoped', scope: 'session', create: () => ({ user: 'ada' }) })
    const request = component('request', { lifetime: 'scoped', deps: { session }, create: ({ session }) => ({ session }) })
    const c = new Container([session, request])
    await c.runInScope('session', async () => {
      const a = await c.runInScope('request', () => c.get(request))
      const b = await c.runInScope('request', () => c.get(request))
      expect(a).not.toBe(b)
      expect(a.session).toBe(b.session)
    })
  })

  it('disposes scoped instances in reverse creation order when the scope ends, even if one fails', async () => {
    const order: string[] = []
    const first = component('first', { lifetime: 'scoped', create: () => 'first', dispose: (v) => void order.push(v) })
    const second = component('second', {
      lifetime: 'scoped',
      deps: { first },
      create: () => ({
        async [Symbol.asyncDispose]() {
          order.push('second')
          throw new Error('socket already closed')
        },
      }),
    })
    const c = new Container([first, second])
    const scope = c.createScope('request')
    scope.run(() => c.get(second))
    await expect(scope.dispose()).rejects.toThrow(/disposing "second"/)
    expect(order).toEqual(['second', 'first'])
    expect(() => scope.run(() => c.get(second))).toThrow(/already ended/)
  })

  it('refuses a scoped resolve outside its scope, saying which scope is needed', () => {
    const user = component('current-user', { lifetime: 'scoped', create: () => ({}) })
    const c = new Container([user])
    const error = problemsOf(() => c.get(user))
    expect(error.code).toBe('PLINTH_ERR_NO_SCOPE')
    expect(error.message).toContain('no "request" scope is active')
  })

  it('lets a singleton reach a scoped instance through an accessor, resolved in the caller\'s scope', async () => {
    let n = 0
    const user = component('current-user', { lifetime: 'scoped', create: () => ({ id: ++n }) })
    const audit = component('audit', { deps: { user: accessor(user) }, create: ({ user }) => ({ who: () => user().id }) })
    const c = new Container([user, audit])
    const ids = await Promise.all([1, 2].map(() => c.runInScope('request', () => c.get(audit).who())))
    expect(ids.sort()).toEqual([1, 2])
  })
})

describe('optional, multi and overrides', () => {
  it('gives undefined for an absent or failed optional dependency', () => {
    const Cache = token('cache').of<Map<string, string>>()
    const broken = component('broken', {
      create: (): number => {
        throw new Error('down')
      },
    })
    const reports = component('reports', { deps: { cache: optional(Cache), broken: optional(broken) }, create: (d) => d })
    const c = new Container([broken, reports])
    expect(c.get(reports)).toEqual({ cache: undefined, broken: undefined })
  })

  it('resolves every contribution to a multi token in registration order', () => {
    const Checks = token('checks').many<string>()
    const c = new Container([
      provide(Checks, { value: 'db' }),
      provide(Checks, { value: 'cache' }),
      component('all', { deps: { checks: Checks }, create: ({ checks }) => checks.join(',') }),
    ])
    expect(c.get(Checks)).toEqual(['db', 'cache'])
    expect(c.get(token('none').many<string>())).toEqual([])
  })

  it('replaces a provider with an override instead of reporting a duplicate', () => {
    const c = new Container([fixedClock], { overrides: [provide(Clock, { value: { now: () => 5 } })] })
    expect(c.get(Clock).now()).toBe(5)
  })
})

describe('graph validation, before anything is built', () => {
  it('reports every problem at once, each with its token, module and file:line', () => {
    let built = false
    const Database = token('database').of<object>()
    const Databse = token('databse').of<object>()
    const a: any = component('a', { deps: { b: token('b').of<unknown>() }, create: () => (built = true) })
    const repo = component('repo', { deps: { db: Databse }, create: () => ({}) })
    const error = problemsOf(
      () =>
        new Container([
          provide(Database, { value: {} }),
          repo,
          a,
          provide(Clock, { value: { now: () => 1 } }),
          provide(Clock, { value: { now: () => 2 } }),
        ]),
    )
    expect(built).toBe(false)
    expect(error.code).toBe('PLINTH_ERR_INVALID_GRAPH')
    const problems = error.details.problems as Array<{ code: string; message: string; site: string }>
    expect(problems.map((p) => p.code).sort()).toEqual(['PLINTH_ERR_DUPLICATE_PROVIDER', 'PLINTH_ERR_MISSING_PROVIDER', 'PLINTH_ERR_MISSING_PROVIDER'])
    expect(error.message).toContain('"repo" (packages/core/test/container.test.ts:')
    // The suggestion names where the right token is provided, and the misspelt token's declaration stays: that is the line to fix.
    expect(error.message).toMatch(/did you mean "database" \(packages\/core\/test\/container\.test\.ts:\d+\)\?/)
    expect(error.message).toMatch(/"databse" is declared at packages\/core\/test\/container\.test\.ts:\d+/)
    expect(error.message).toMatch(/"clock" is provided twice: at packages\/core\/test\/container\.test\.ts:(\d+) and at packages\/core\/test\/container\.test\.ts:(?!\1)\d+/)
    for (const p of problems) expect(p.site).toMatch(/container\.test\.ts:\d+$/)
  })

  it('prints a cycle as its whole path', () => {
    const A = token('a').of<unknown>()
    const B = token('b').of<unknown>()
    const C = token('c').of<unknown>()
    const error = problemsOf(
      () =>
        new Container([
          provide(A, { deps: { b: B }, create: () => 1 }),
          provide(B, { deps: { c: C }, create: () => 1 }),
          provide(C, { deps: { a: A }, create: () => 1 }),
        ]),
    )
    expect(error.message).toContain('dependency cycle: a -> b -> c -> a')
  })

  it('lets an accessor close a loop, since it resolves on use', () => {
    const A = token('a').of<{ b: () => unknown }>()
    const B = token('b').of<{ a: unknown }>()
    const c = new Container([
      provide(A, { deps: { b: accessor(B) }, create: ({ b }) => ({ b }) }),
      provide(B, { deps: { a: A }, create: ({ a }) => ({ a }) }),
    ])
    expect(c.get(A).b()).toEqual({ a: c.get(A) })
  })

  it('reports a captive dependency, even through a transient, with the path', () => {
    const user = component('current-user', { lifetime: 'scoped', create: () => ({}) })
    const view = component('view', { lifetime: 'transient', deps: { user }, create: () => ({}) })
    const cache = component('cache', { deps: { view }, create: () => ({}) })
    const error = problemsOf(() => new Container([user, view, cache]))
    expect(error.message).toContain('PLINTH_ERR_CAPTIVE_DEPENDENCY')
    expect(error.message).toContain('cache (singleton) -> view (transient) -> current-user (scoped:request)')
    expect(error.message).toContain('accessor(current-user)')
  })

  it('reports a session-scoped instance holding a request-scoped one, but not the reverse', () => {
    const session = component('session', { lifetime: 'scoped', scope: 'session', create: () => ({}) })
    const request = component('request', { lifetime: 'scoped', deps: { session }, create: () => ({}) })
    expect(() => new Container([session, request])).not.toThrow()
    const cart = component('cart', { lifetime: 'scoped', scope: 'session', deps: { request }, create: () => ({}) })
    const error = problemsOf(() => new Container([session, request, cart]))
    expect(error.message).toContain('"cart" (scope "session")')
    expect(error.message).toContain('which lives in the shorter "request" scope')
  })

  it('reports two different tokens that share a name', () => {
    const one = token('mailer').of<unknown>()
    const two = token('mailer').of<unknown>()
    const error = problemsOf(() => new Container([provide(one, { value: 1 }), provide(two, { value: 2 })]))
    expect(error.message).toContain('two different tokens are named "mailer"')
  })

  it('rejects lifecycle hooks on non-singletons and a dependency that is not a token', () => {
    const bad = component('bad', { lifetime: 'transient', deps: { x: undefined as never }, create: () => 1, start: () => {} })
    const error = problemsOf(() => new Container([bad]))
    expect(error.message).toContain('a transient provider cannot have a start hook')
    expect(error.message).toContain('deps.x is not a token')
  })
})

describe('depth', () => {
  it('builds a 10 000-deep transient chain without a stack overflow', () => {
    let previous = component('n0', { create: () => 0 }) as any
    const all = [previous]
    for (let i = 1; i < 10_000; i++) {
      const p = previous
      previous = component(`n${i}`, { lifetime: 'transient', deps: { p }, create: ({ p }: { p: number }) => p + 1 })
      all.push(previous)
    }
    expect(new Container(all).get(previous)).toBe(9_999)
  })

  it('builds a 10 000-deep singleton chain without a stack overflow', async () => {
    let previous = component('s0', { create: async () => 0 }) as any
    const all = [previous]
    for (let i = 1; i < 10_000; i++) {
      const p = previous
      previous = component(`s${i}`, { deps: { p }, create: ({ p }: { p: number }) => p + 1 })
      all.push(previous)
    }
    expect(await new Container(all).resolve(previous)).toBe(9_999)
  })
})
