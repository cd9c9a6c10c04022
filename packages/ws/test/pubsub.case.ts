import { describe, expect, it } from 'vitest'
import type { PubSub } from '../src/index.js'

/**
 * The behaviour every PubSub backend must have, run against each implementation (the memory
 * one here; Redis and NATS ones import this suite). `settle` waits until a published message
 * has had time to arrive.
 */
export function pubsubConformance(name: string, make: () => PubSub | Promise<PubSub>, settle: () => Promise<void> = () => new Promise((r) => setTimeout(r, 20))): void {
  const channel = () => `conformance:${Math.random().toString(36).slice(2)}`

  describe(`${name} as a PubSub backend`, () => {
    it('delivers a message to every listener of its channel, in publish order', async () => {
      const bus = await make()
      const ch = channel()
      const a: string[] = []
      const b: string[] = []
      const offA = await bus.subscribe(ch, (p) => a.push(p))
      const offB = await bus.subscribe(ch, (p) => b.push(p))
      for (const p of ['1', '2', '3']) await bus.publish(ch, p)
      await settle()
      expect(a).toEqual(['1', '2', '3'])
      expect(b).toEqual(['1', '2', '3'])
      await offA()
      await offB()
    })

    it('does not deliver to other channels', async () => {
      const bus = await make()
      const got: string[] = []
      const off = await bus.subscribe(channel(), (p) => got.push(p))
      await bus.publish(channel(), 'elsewhere')
      await settle()
      expect(got).toEqual([])
      await off()
    })

    it('stops delivering once unsubscribed, leaving other listeners subscribed', async () => {
      const bus = await make()
      const ch = channel()
      const gone: string[] = []
      const kept: string[] = []
      const off = await bus.subscribe(ch, (p) => gone.push(p))
      const offKept = await bus.subscribe(ch, (p) => kept.push(p))
      await off()
      await bus.publish(ch, 'after')
      await settle()
      expect(gone).toEqual([])
      expect(kept).toEqual(['after'])
      await offKept()
    })

    it('counts the same function subscribed twice as two subscriptions', async () => {
      const bus = await make()
      const ch = channel()
      const got: string[] = []
      const listener = (p: string) => got.push(p)
      const first = await bus.subscribe(ch, listener)
      const second = await bus.subscribe(ch, listener)
      await bus.publish(ch, 'x')
      await settle()
      expect(got).toEqual(['x', 'x'])
      await first()
      await bus.publish(ch, 'y')
      await settle()
      expect(got).toEqual(['x', 'x', 'y'])
      await second()
    })

    it('accepts a publish nobody listens to', async () => {
      const bus = await make()
      await expect(bus.publish(channel(), 'into the void')).resolves.toBeUndefined()
    })
  })
}
