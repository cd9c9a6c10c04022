import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../src/health/breaker.js'
import { isPlinthError } from '../src/errors.js'

function clock(start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

const fail = () => Promise.reject(new Error('connection refused'))

describe('a circuit breaker', () => {
  it('stays closed through failures below the threshold, and a success resets the count', async () => {
    const breaker = new CircuitBreaker('db', { failureThreshold: 3 })
    await expect(breaker.run(fail)).rejects.toThrow('connection refused')
    await expect(breaker.run(fail)).rejects.toThrow('connection refused')
    await breaker.run(() => 'ok')
    await expect(breaker.run(fail)).rejects.toThrow('connection refused')
    await expect(breaker.run(fail)).rejects.toThrow('connection refused')
    expect(breaker.state).toBe('closed')
  })

  it('opens after the threshold and then fails fast without calling, naming the last error and the retry time', async () => {
    const time = clock()
    const breaker = new CircuitBreaker('db', { failureThreshold: 2, resetTimeout: 5_000, now: time.now })
    for (let i = 0; i < 2; i++) await expect(breaker.run(fail)).rejects.toThrow()
    expect(breaker.state).toBe('open')
    let called = false
    const error = await breaker.run(() => (called = true)).catch((e: unknown) => e)
    expect(called).toBe(false)
    expect(isPlinthError(error, 'PLINTH_ERR_CIRCUIT_OPEN')).toBe(true)
    expect(String(error)).toMatch(/"db" circuit is open after 2 failures \(last: connection refused\)/)
    expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 2, retryAt: time.now() + 5_000, lastError: 'connection refused' })
  })

  it('lets one trial through once the reset timeout has passed; its success closes the circuit', async () => {
    const time = clock()
    const breaker = new CircuitBreaker('db', { failureThreshold: 1, resetTimeout: 1_000, now: time.now })
    await expect(breaker.run(fail)).rejects.toThrow()
    time.advance(1_000)
    expect(breaker.state).toBe('half-open')
    expect(breaker.tryAcquire()).toBe(true)
    expect(breaker.tryAcquire()).toBe(false) // one trial at a time
    breaker.success()
    expect(breaker.state).toBe('closed')
    expect(breaker.snapshot().failures).toBe(0)
  })

  it('reopens when the trial fails, for another full reset timeout', async () => {
    const time = clock()
    const breaker = new CircuitBreaker('db', { failureThreshold: 1, resetTimeout: 1_000, now: time.now })
    await expect(breaker.run(fail)).rejects.toThrow()
    time.advance(1_000)
    await expect(breaker.run(fail)).rejects.toThrow('connection refused')
    expect(breaker.state).toBe('open')
    time.advance(999)
    expect(breaker.state).toBe('open')
    time.advance(1)
    expect(breaker.state).toBe('half-open')
  })

  it('tells listeners each change of state', async () => {
    const time = clock()
    const breaker = new CircuitBreaker('db', { failureThreshold: 1, resetTimeout: 10, now: time.now })
    const changes: string[] = []
    breaker.onChange((from, to) => changes.push(`${from}->${to}`))
    await expect(breaker.run(fail)).rejects.toThrow()
    time.advance(10)
    await breaker.run(() => 'ok')
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed'])
  })

  it('rejects nonsense options with the option named', () => {
    expect(() => new CircuitBreaker('db', { failureThreshold: 0 })).toThrow(/circuit breaker "db": failureThreshold must be a positive number; got 0/)
  })
})
