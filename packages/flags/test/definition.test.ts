import { describe, expect, it } from 'vitest'
import { validateFlags } from '../src/index.js'

describe('validateFlags', () => {
  it('accepts a boolean flag without variants as { on: true, off: false }', () => {
    const { flags, problems } = validateFlags({ 'ai.remote': { type: 'boolean', defaultVariant: 'on' } }, 'flags')
    expect(problems).toEqual([])
    expect(flags.get('ai.remote')).toMatchObject({ key: 'ai.remote', variants: { on: true, off: false }, defaultVariant: 'on' })
  })

  it('reports every problem at once, each with the path of the field', () => {
    const { flags, problems } = validateFlags(
      {
        typo: { type: 'bool', defaultVariant: 'on' },
        colours: { type: 'string', variants: { red: 'red', blue: 7 }, defaultVariant: 'green', environments: { prod: 'red' } },
        rollout: { type: 'boolean', defaultVariant: 'off', rollout: { on: 30, off: 60 } },
        rules: { type: 'boolean', defaultVariant: 'off', rules: [{ when: { attribute: 'roles', includes: 'beta', equals: 'x' }, variant: 'on' }], fallback: { check: '', variant: 'off' } },
        extra: { type: 'number', variants: { one: 1 }, defaultVariant: 'one', defaultValue: 2 },
        good: { type: 'number', variants: { one: 1 }, defaultVariant: 'one' },
      },
      'flags',
    )
    expect(problems).toEqual([
      { path: 'flags.typo.type', message: 'unknown flag type "bool"; expected one of boolean, string, number, object' },
      { path: 'flags.colours.variants.blue', message: "expected a string, like the flag's type; got 7" },
      { path: 'flags.colours.defaultVariant', message: '"green" is not a variant of the flag; its variants are red, blue' },
      { path: 'flags.colours.environments.prod', message: 'unknown environment; expected development, staging, production' },
      { path: 'flags.rollout.rollout', message: 'the percentages add up to 90, not 100' },
      { path: 'flags.rules.rules[0].when', message: 'give exactly one of equals, in, notIn, includes; got equals, includes' },
      { path: 'flags.rules.fallback', message: 'expected { check: "<health check name>", variant }' },
      { path: 'flags.extra.defaultValue', message: 'unknown field; a flag has type, variants, defaultVariant, environments, rules, rollout, fallback, disabled, description' },
    ])
    expect([...flags.keys()]).toEqual(['good'])
  })

  it('reads nested groups as dotted keys, as configuration files write them', () => {
    const { flags, problems } = validateFlags({ ai: { remote: { type: 'boolean', defaultVariant: 'on' }, model: { type: 'string', variants: { small: 's' }, defaultVariant: 'small' } } }, 'flags')
    expect(problems).toEqual([])
    expect([...flags.keys()]).toEqual(['ai.remote', 'ai.model'])
    expect(validateFlags({ ai: { remote: { typ: 'boolean', defaultVariant: 'on' } } }, 'flags').problems[0]).toEqual({ path: 'flags.ai.remote.typ', message: expect.stringContaining('unknown field') })
  })

  it('refuses something that is not a map of flags', () => {
    expect(validateFlags([], 'flags').problems).toEqual([{ path: 'flags', message: 'expected an object of flag key -> definition; got an array' }])
  })
})
