import { describe, expect, test } from 'tstyche'
import { component } from '@plinth/core'
import { States, state, type StateKey, type StateScopes } from '@plinth/state'

const cart = state('cart').of<{ items: string[] }>({ scope: 'session' })

describe('state keys', () => {
  test('carry their type to every read and write', () => {
    expect(cart).type.toBe<StateKey<{ items: string[] }>>()
    component('checkout', {
      deps: { states: States },
      create: ({ states }) => {
        expect(states).type.toBe<StateScopes>()
        expect(states.get(cart)).type.toBe<Promise<{ items: string[] } | undefined>>()
        expect(states.update(cart, (current) => ({ items: [...(current?.items ?? []), 'x'] }))).type.toBe<Promise<{ items: string[] } | undefined>>()
        expect(states.set(cart, { items: 'x' })).type.toRaiseError()
        return states
      },
    })
  })

  test('scopes are request, session or app', () => {
    expect(state('x').of<number>({ scope: 'galaxy' })).type.toRaiseError()
  })
})
