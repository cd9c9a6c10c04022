import { describe, expect, test } from 'tstyche'
import { accessor, component, createApp, optional, provide, token, type ResolvedDeps, type ValueOf } from '@plinth/core'

interface Clock {
  now(): number
}
const Clock = token('clock').of<Clock>()
const Checks = token('checks').many<string>()
const clock = provide(Clock, { value: { now: () => 1 } })

describe('dependencies', () => {
  test('a factory receives each dependency with its type', () => {
    component('report', {
      deps: { clock: Clock, checks: Checks, maybe: optional(Clock), later: accessor(Clock) },
      create: (deps) => {
        expect(deps.clock).type.toBe<Clock>()
        expect(deps.checks).type.toBe<readonly string[]>()
        expect(deps.maybe).type.toBe<Clock | undefined>()
        expect(deps.later).type.toBe<() => Clock>()
        return 1
      },
    })
  })

  test('a component is a token of what its factory returns', () => {
    class Users {
      count(): number {
        return 3
      }
    }
    const users = component('users', { create: () => new Users() })
    const signup = component('signup', { deps: { users }, create: ({ users }) => users.count() })
    expect<ResolvedDeps<typeof signup.deps>>().type.toBe<{ readonly users: Users }>()
    expect<ValueOf<typeof signup>>().type.toBe<number>()
  })

  test('deps given as a function are typed like the map itself', () => {
    const users = component('users', { create: (): { count: () => number } => ({ count: () => 3 }) })
    const signup = component('signup', {
      deps: () => ({ users, clock: Clock, maybe: optional(Clock) }),
      create: (deps) => {
        expect(deps.users).type.toBe<{ count: () => number }>()
        expect(deps.clock).type.toBe<Clock>()
        expect(deps.maybe).type.toBe<Clock | undefined>()
        return deps.users.count()
      },
    })
    expect<ValueOf<typeof signup>>().type.toBe<number>()
    expect(component).type.not.toBeCallableWith('bad', { deps: () => ({ clock: 3 }), create: () => 1 })
  })

  test('a value of the wrong type is refused', () => {
    expect(provide).type.not.toBeCallableWith(Clock, { value: { later: () => 1 } })
  })
})

describe('createApp', () => {
  test('accepts an app whose every dependency is provided', () => {
    const report = component('report', { deps: { clock: Clock }, create: ({ clock }) => clock.now() })
    expect(createApp).type.toBeCallableWith({ name: 'ok', components: [clock, report] })
  })

  test('a missing provider is a compile error that names it', () => {
    const report = component('report', { deps: { clock: Clock }, create: ({ clock }) => clock.now() })
    expect(createApp).type.not.toBeCallableWith({ name: 'missing', components: [report] })
    expect(createApp({ name: 'missing', components: [report] })).type.toRaiseError(`'missing providers': "clock"`)
  })

  test('every missing provider is named in the compile error, not only the first', () => {
    const Mailer = token('mailer').of<{ send(): void }>()
    const report = component('report', { deps: { clock: Clock, mailer: Mailer, checks: Checks }, create: () => 1 })
    expect(createApp({ name: 'missing', components: [report] })).type.toRaiseError(`'missing providers': "clock" | "mailer"`)
  })

  test('a dependency declared as a function counts for the missing-provider check', () => {
    const report = component('report', { deps: () => ({ clock: Clock }), create: ({ clock }) => clock.now() })
    expect(createApp({ name: 'missing', components: [report] })).type.toRaiseError(`'missing providers': "clock"`)
    expect(createApp).type.toBeCallableWith({ name: 'ok', components: [clock, report] })
  })

  test('an optional dependency need not be provided', () => {
    const report = component('report', { deps: { clock: optional(Clock) }, create: () => 1 })
    expect(createApp).type.toBeCallableWith({ name: 'ok', components: [report] })
  })

  test('the configuration counts as provided only when the app is given it', async () => {
    const { defineConfig } = await import('@plinth/core')
    const { z } = await import('zod')
    const AppConfig = defineConfig({ schema: z.object({ port: z.number() }) })
    const server = component('server', { deps: { config: AppConfig }, create: ({ config }) => config.port })
    expect(createApp).type.toBeCallableWith({ name: 'ok', config: AppConfig, components: [server] })
    expect(createApp({ name: 'no-config', components: [server] })).type.toRaiseError(`'missing providers': "config"`)
  })

  test('kernel tokens are always provided', async () => {
    const { Logger } = await import('@plinth/core')
    const mailer = component('mailer', { deps: { log: Logger }, create: ({ log }) => log })
    expect(createApp).type.toBeCallableWith({ name: 'ok', components: [mailer] })
  })
})
