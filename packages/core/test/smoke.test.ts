import { test, expect } from 'vitest'
import { Container } from '../src/container.ts'
import { component, provide } from '../src/provider.ts'
import { token, optional, accessor } from '../src/token.ts'

test('smoke', async () => {
  const Clock = token('clock').of<{ now(): number }>()
  const clock = provide(Clock, { value: { now: () => 42 } })
  const a = component('a', { deps: { clock }, create: ({ clock }) => ({ t: clock.now() }) })
  const b = component('b', { deps: { a, c: Clock }, lifetime: 'transient', create: ({ a, c }) => ({ a, c }) })
  const req = component('req', { lifetime: 'scoped', create: () => ({ id: Math.random() }) })
  const s = component('s', { deps: { r: accessor(req), o: optional(token('nope').of<number>()) }, create: ({ r, o }) => ({ r, o }) })
  const c = new Container([clock, a, b, req, s])
  expect(c.get(a).t).toBe(42)
  expect(c.get(b).a).toBe(c.get(a))
  expect(c.get(b)).not.toBe(c.get(b))
  await c.runInScope('request', () => { expect(c.get(s).r()).toBe(c.get(req)) })
  expect(() => c.get(req)).toThrow(/no "request" scope/)
  // deep chain
  let prev: any = component('n0', { create: () => 0 })
  const all = [prev]
  for (let i = 1; i < 10000; i++) { const p = prev; prev = component(`n${i}`, { deps: { p }, lifetime: 'transient', create: ({ p }: any) => p + 1 }); all.push(prev) }
  const deep = new Container(all)
  expect(deep.get(prev)).toBe(9999)
  const x = token('x').of<number>()
  const y = component('y', { deps: { x, z: token('zz').of<number>() }, create: () => 1 })
  const cy1: any = component('cy1', { deps: { get cy2() { return cy2 } } as any, create: () => 1 })
  const cy2: any = component('cy2', { deps: { cy1 }, create: () => 1 })
  try { new Container([y, cy1, cy2, component('x2', {create: () => 1})]) } catch (e: any) { console.log(e.message) }
  const as = component('as', { create: async () => 5 })
  const dep = component('dep', { deps: { as }, create: ({ as }) => as * 2 })
  const ca = new Container([as, dep])
  expect(() => ca.get(dep)).toThrow(/async/)
  expect(await ca.resolve(dep)).toBe(10)
  expect(ca.get(dep)).toBe(10)
})
