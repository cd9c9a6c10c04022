/**
 * One suite for every failure counter (memory in attempts-memory.test.ts, Redis in
 * redis.test.ts), and the throttle's lockout schedule on top of it.
 */
import { isPlinthError } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { LoginThrottle, type AttemptCounter } from '../src/index.js'

export function describeAttemptCounter(make: () => AttemptCounter): void {
  describe('the counter', () => {
    it('counts failures per key and forgets them when cleared', async () => {
      const counter = make()
      expect(await counter.fail('account:a', 60_000)).toBe(1)
      expect(await counter.fail('account:a', 60_000)).toBe(2)
      expect(await counter.fail('account:b', 60_000)).toBe(1)
      await counter.clear('account:a')
      expect(await counter.fail('account:a', 60_000)).toBe(1)
    })

    it('holds a lock until its end', async () => {
      const counter = make()
      const until = Date.now() + 60_000
      expect(await counter.lockedUntil('address:203.0.113.9')).toBeUndefined()
      await counter.lock('address:203.0.113.9', until)
      expect(await counter.lockedUntil('address:203.0.113.9')).toBe(until)
      await counter.lock('address:203.0.113.10', Date.now() - 1)
      expect(await counter.lockedUntil('address:203.0.113.10')).toBeUndefined()
    })
  })

  describe('the throttle on it', () => {
    it('locks the account once its free failures are spent, doubling the lock with every further failure', async () => {
      const throttle = new LoginThrottle(make(), { accountFailures: 3, baseLockout: 10_000, maxLockout: 35_000 })
      expect(await throttle.recordFailure('ada@example.com', undefined)).toEqual([])
      expect(await throttle.recordFailure('ada@example.com', undefined)).toEqual([])
      const [first] = await throttle.recordFailure('ada@example.com', undefined)
      expect(first).toMatchObject({ scope: 'account', failures: 3 })
      expect([throttle.lockoutFor(3), throttle.lockoutFor(4), throttle.lockoutFor(5), throttle.lockoutFor(6)]).toEqual([10_000, 20_000, 35_000, 35_000])
      const error = await throttle.assertAllowed('ada@example.com', '203.0.113.9').then(() => undefined, (e: unknown) => e)
      expect(isPlinthError(error, 'PLINTH_ERR_AUTH_LOCKED')).toBe(true)
      expect((error as { details: { retryAfter: number } }).details.retryAfter).toBe(10)
      await throttle.assertAllowed('other@example.com', '203.0.113.9')
    })

    it('locks a client address that fails across many accounts', async () => {
      const throttle = new LoginThrottle(make(), { accountFailures: 5, addressFailures: 4, baseLockout: 10_000 })
      const locks = []
      for (let i = 0; i < 4; i++) locks.push(...(await throttle.recordFailure(`user${i}@example.com`, '198.51.100.7')))
      expect(locks).toEqual([expect.objectContaining({ scope: 'address', failures: 4 })])
      await expect(throttle.assertAllowed('fresh@example.com', '198.51.100.7')).rejects.toThrow(/too many failed logins/)
      await throttle.assertAllowed('fresh@example.com', '198.51.100.8')
    })

    it('forgets the account failures after a success', async () => {
      const throttle = new LoginThrottle(make(), { accountFailures: 2 })
      await throttle.recordFailure('ada@example.com', undefined)
      await throttle.recordSuccess('ada@example.com')
      expect(await throttle.recordFailure('ada@example.com', undefined)).toEqual([])
    })

    it('refuses settings that cannot work, naming each', () => {
      expect(() => new LoginThrottle(make(), { accountFailures: 0, baseLockout: 10, maxLockout: 5 })).toThrow(/accountFailures 0 must be a positive integer; maxLockout 5 must be at least baseLockout 10/)
    })
  })
}
