import { describe, expect, it } from 'vitest'
import { evaluateFlag, rolloutVariant, validateFlags, type Flag } from '../src/index.js'

function flag(definition: Record<string, unknown>): Flag {
  const { flags, problems } = validateFlags({ f: definition }, 'flags')
  expect(problems).toEqual([])
  return flags.get('f')!
}

describe('evaluateFlag', () => {
  const beta = flag({
    type: 'string',
    variants: { classic: 'classic', modern: 'modern', safe: 'safe' },
    defaultVariant: 'classic',
    environments: { staging: 'modern' },
    rules: [
      { when: { attribute: 'roles', includes: 'beta' }, variant: 'modern' },
      { when: [{ attribute: 'tenant', in: ['acme', 'globex'] }, { attribute: 'environment', equals: 'production' }], variant: 'modern' },
    ],
    fallback: { check: 'db', variant: 'safe' },
  })

  it('takes the first rule whose conditions all hold', () => {
    expect(evaluateFlag(beta, { roles: ['beta'] }, 'production', false)).toEqual({ variant: 'modern', value: 'modern', reason: 'TARGETING_MATCH' })
    expect(evaluateFlag(beta, { tenant: 'acme' }, 'production', false).reason).toBe('TARGETING_MATCH')
    expect(evaluateFlag(beta, { tenant: 'acme' }, 'development', false)).toEqual({ variant: 'classic', value: 'classic', reason: 'STATIC' })
  })

  it("takes the environment's variant over the default", () => {
    expect(evaluateFlag(beta, {}, 'staging', false).variant).toBe('modern')
    expect(evaluateFlag(beta, {}, 'production', false).variant).toBe('classic')
  })

  it('takes the fallback variant over every rule while falling back', () => {
    expect(evaluateFlag(beta, { roles: ['beta'] }, 'staging', true)).toEqual({ variant: 'safe', value: 'safe', reason: 'FALLBACK' })
  })

  it("gives a disabled flag no variant, so that the caller's default applies", () => {
    expect(evaluateFlag(flag({ type: 'boolean', defaultVariant: 'on', disabled: true }), {}, 'production', false)).toEqual({ variant: undefined, value: undefined, reason: 'DISABLED' })
  })

  it('puts a user in the same rollout variant every time, and only users with a targeting key in a split', () => {
    const rollout = flag({ type: 'boolean', defaultVariant: 'off', rollout: { on: 50, off: 50 } })
    const first = evaluateFlag(rollout, { targetingKey: 'user-42' }, 'production', false)
    for (let i = 0; i < 5; i++) expect(evaluateFlag(rollout, { targetingKey: 'user-42' }, 'production', false)).toEqual(first)
    expect(first.reason).toBe('SPLIT')
    expect(evaluateFlag(rollout, {}, 'production', false)).toEqual({ variant: 'off', value: false, reason: 'STATIC' })
  })
})

describe('rolloutVariant', () => {
  const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)

  it('splits users close to the percentages', () => {
    const on = users.filter((u) => rolloutVariant('new-checkout', u, { on: 10, off: 90 }) === 'on').length
    expect(on).toBeGreaterThan(900)
    expect(on).toBeLessThan(1_100)
  })

  it('keeps every user already in when the percentage grows', () => {
    const at10 = new Set(users.filter((u) => rolloutVariant('new-checkout', u, { on: 10, off: 90 }) === 'on'))
    const at25 = new Set(users.filter((u) => rolloutVariant('new-checkout', u, { on: 25, off: 75 }) === 'on'))
    expect([...at10].every((u) => at25.has(u))).toBe(true)
    expect(at25.size).toBeGreaterThan(at10.size)
  })

  it('puts a user in different buckets for different flags', () => {
    const a = users.filter((u) => rolloutVariant('flag-a', u, { on: 50, off: 50 }) === 'on')
    const b = new Set(users.filter((u) => rolloutVariant('flag-b', u, { on: 50, off: 50 }) === 'on'))
    const both = a.filter((u) => b.has(u)).length
    expect(both).toBeGreaterThan(2_000)
    expect(both).toBeLessThan(3_000)
  })
})
