import { describe, expect, it, vi } from 'vitest'
import { CircuitBreaker, createApp, Health, HealthChecks, component, logBreakerChanges, provide } from '../src/index.js'
import { createLogger } from '../src/logging/logging.js'
import { startTestApp } from '../src/testing.js'
import { captureLog } from './log-capture.js'

const [DEBUG, INFO, WARN] = [20, 30, 40]

function clock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

/** A dependency down for `seconds`, probed once a second through its breaker, as the health registry does. */
async function outage(breaker: CircuitBreaker, time: ReturnType<typeof clock>, seconds: number) {
  for (let i = 0; i < seconds; i++) {
    await breaker.run(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'))).catch(() => undefined)
    time.advance(1_000)
  }
}

describe('logging a circuit breaker', () => {
  it('logs an outage of many open/half-open cycles as its opening, a reminder a minute and its recovery, with the trials at debug', async () => {
    const time = clock()
    const out = captureLog()
    const log = createLogger({ level: 'debug', destination: out.stream })
    const breaker = new CircuitBreaker('database', { failureThreshold: 3, resetTimeout: 1_000, now: time.now })
    const transitions: string[] = []
    breaker.onChange((from, to) => transitions.push(`${from}->${to}`))
    breaker.onChange(logBreakerChanges('database', log, { now: time.now }))

    await outage(breaker, time, 130)
    await breaker.run(() => 'back')

    // Every transition still reaches listeners (a metric counts them all); only the log is summarised.
    expect(transitions.filter((t) => t === 'half-open->open').length).toBeGreaterThan(100)
    const warnings = out.at(WARN).map((r) => r.msg)
    expect(warnings).toHaveLength(3)
    expect(warnings[0]).toMatch(/^database: circuit open after 3 consecutive failures \(last: connect ECONNREFUSED 127\.0\.0\.1:1\); next trial at 2025-01-01T00:00:03\.000Z$/)
    expect(warnings[1]).toMatch(/^database: still unavailable after 1 min 0 s, 60 failed trials \(last: connect ECONNREFUSED 127\.0\.0\.1:1\); next trial at /)
    expect(warnings[2]).toMatch(/^database: still unavailable after 2 min 0 s, 120 failed trials/)
    const recovered = out.at(INFO)
    expect(recovered.map((r) => r.msg)).toEqual(['database: circuit closed again after 2 min 8 s (127 trials failed meanwhile)'])
    expect(recovered[0]).toMatchObject({ breaker: 'database', state: 'closed', failedTrials: 127, openFor: 128_000 })
    expect(out.at(DEBUG).length).toBeGreaterThan(200)
    expect(out.records().some((r) => r.msg.includes('->'))).toBe(false)
  })

  it('logs a second outage as a new one, from its own opening', async () => {
    const time = clock()
    const out = captureLog()
    const breaker = new CircuitBreaker('payments', { failureThreshold: 1, resetTimeout: 1_000, now: time.now })
    breaker.onChange(logBreakerChanges('payments', createLogger({ level: 'info', destination: out.stream }), { now: time.now }))
    await outage(breaker, time, 3)
    await breaker.run(() => 'back')
    await outage(breaker, time, 2)
    expect(out.records().map((r) => r.msg)).toEqual([
      expect.stringMatching(/^payments: circuit open after 1 consecutive failures/),
      'payments: circuit closed again after 3.0 s (2 trials failed meanwhile)',
      expect.stringMatching(/^payments: circuit open after 1 consecutive failures/),
    ])
  })

  it('keeps the health registry\'s breaker of a check that stays down to one warning, however many trials fail', async () => {
    const out = captureLog()
    let trials = 0
    const down = provide(HealthChecks, {
      value: {
        name: 'database',
        retryInterval: 5,
        breaker: { failureThreshold: 2, resetTimeout: 5 },
        check: () => {
          trials++
          throw new Error('connect ECONNREFUSED 127.0.0.1:1')
        },
      },
    })
    const probes = component('probes', { eager: true, deps: { health: Health }, create: ({ health }) => health })
    const t = await startTestApp(createApp({ name: 'breaker-log', components: [probes, down], logging: { level: 'debug', destination: out.stream } }))
    await using _ = t
    await vi.waitFor(() => expect(trials).toBeGreaterThan(20), { timeout: 5_000 })
    const circuit = out.records().filter((r) => r.check === 'database' && r.breaker !== undefined)
    expect(circuit.filter((r) => r.level === WARN).map((r) => r.msg)).toEqual([expect.stringMatching(/^database: circuit open after 2 consecutive failures \(last: connect ECONNREFUSED 127\.0\.0\.1:1\)/)])
    expect(circuit.filter((r) => r.level === DEBUG).length).toBeGreaterThan(20)
  })
})
