/**
 * Brute-force protection of logins (OWASP Authentication Cheat Sheet): failures are counted per
 * account and per client address; past a number of free failures the key is locked for a time
 * that doubles with every further failure, up to a cap. The account key is the email as typed,
 * whether or not such an account exists, so a lock says nothing about who is registered.
 */
import type { AttemptCounter } from './attempt-counter.js'
import { authErrors } from './errors.js'

export interface LoginThrottleOptions {
  /** Failures per account before the first lock. Default 5. */
  readonly accountFailures?: number
  /** Failures per client address before the first lock (one address tries many accounts). Default 20. */
  readonly addressFailures?: number
  /** How long failures are remembered, in ms. Default 900 000 (15 minutes). */
  readonly window?: number
  /** The first lock, in ms; each further failure doubles it. Default 1 000. */
  readonly baseLockout?: number
  /** The longest lock, in ms. Default 900 000 (15 minutes). */
  readonly maxLockout?: number
}

/** A lock that a failure has just set. */
export interface Lockout {
  readonly scope: 'account' | 'address'
  readonly key: string
  readonly failures: number
  /** Epoch ms. */
  readonly until: number
}

/**
 * Decides whether a login may be tried, and counts failures.
 *
 * @example
 * const throttle = new LoginThrottle(new MemoryAttemptCounter(), { accountFailures: 5 })
 * await throttle.assertAllowed('ada@example.com', '203.0.113.9') // throws PLINTH_ERR_AUTH_LOCKED with retryAfter
 * const locks = await throttle.recordFailure('ada@example.com', '203.0.113.9')
 */
export class LoginThrottle {
  readonly accountFailures: number
  readonly addressFailures: number
  readonly window: number
  readonly baseLockout: number
  readonly maxLockout: number
  readonly #counter: AttemptCounter

  constructor(counter: AttemptCounter, options: LoginThrottleOptions = {}) {
    this.accountFailures = options.accountFailures ?? 5
    this.addressFailures = options.addressFailures ?? 20
    this.window = options.window ?? 900_000
    this.baseLockout = options.baseLockout ?? 1_000
    this.maxLockout = options.maxLockout ?? 900_000
    const problems = Object.entries({ accountFailures: this.accountFailures, addressFailures: this.addressFailures, window: this.window, baseLockout: this.baseLockout, maxLockout: this.maxLockout })
      .filter(([, value]) => !Number.isInteger(value) || value < 1)
      .map(([name, value]) => `${name} ${value} must be a positive integer`)
    if (this.maxLockout < this.baseLockout) problems.push(`maxLockout ${this.maxLockout} must be at least baseLockout ${this.baseLockout}`)
    if (problems.length > 0) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `login throttle: ${problems.join('; ')}`)
    this.#counter = counter
  }

  /** Throws PLINTH_ERR_AUTH_LOCKED (429, `details.retryAfter` in seconds) while either key is locked. */
  async assertAllowed(account: string, address: string | undefined): Promise<void> {
    const [accountLock, addressLock] = await Promise.all([this.#counter.lockedUntil(`account:${account}`), address ? this.#counter.lockedUntil(`address:${address}`) : undefined])
    const until = Math.max(accountLock ?? 0, addressLock ?? 0)
    if (until === 0) return
    const retryAfter = Math.max(1, Math.ceil((until - Date.now()) / 1000))
    throw authErrors.create('PLINTH_ERR_AUTH_LOCKED', `too many failed logins; try again in ${retryAfter} s`, { details: { retryAfter } })
  }

  /** Counts a failure for the account and the address; resolves to the locks it set. */
  async recordFailure(account: string, address: string | undefined): Promise<Lockout[]> {
    const keys: Array<{ scope: Lockout['scope']; key: string; free: number }> = [{ scope: 'account', key: `account:${account}`, free: this.accountFailures }]
    if (address) keys.push({ scope: 'address', key: `address:${address}`, free: this.addressFailures })
    const locks: Lockout[] = []
    for (const { scope, key, free } of keys) {
      const failures = await this.#counter.fail(key, this.window)
      if (failures < free) continue
      const until = Date.now() + this.lockoutFor(failures, free)
      await this.#counter.lock(key, until)
      locks.push({ scope, key, failures, until })
    }
    return locks
  }

  /** Forgets the account's failures after a successful login (the address keeps its count). */
  recordSuccess(account: string): Promise<void> {
    return this.#counter.clear(`account:${account}`)
  }

  /** The lock after `failures` failures: base x 2^(failures beyond the `free` ones), capped. */
  lockoutFor(failures: number, free = this.accountFailures): number {
    const beyond = failures - free
    return Math.min(this.maxLockout, this.baseLockout * 2 ** Math.max(0, Math.min(beyond, 30)))
  }
}
