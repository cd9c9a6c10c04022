import { afterEach, describe, expect, it } from 'vitest'
import { isPlinthError } from '@plinth/core'
import { SagaRunner, saga, type SqlEventStore } from '../src/index.js'
import { postgres, postgresHarness, sqliteHarness, type SqlHarness } from './harness.js'

/** A saga whose steps log what they do and undo; `failAt` makes one step (or compensation) throw. */
function booking(log: string[], fail: { action?: string; compensate?: string } = {}) {
  const step = (name: string, extra: object = {}) => ({
    name,
    action: () => {
      log.push(`do ${name}`)
      if (fail.action === name) throw new Error(`${name} is out of stock`)
      return { ref: `${name}-1` }
    },
    compensate: ({ result }: { result: unknown }) => {
      log.push(`undo ${name} ${(result as { ref: string }).ref}`)
      if (fail.compensate === name) throw new Error(`${name} refuses to cancel`)
    },
    ...extra,
  })
  return saga<{ trip: string }>({ name: 'book-trip', steps: [step('flight'), step('hotel'), step('car')] })
}

for (const [name, makeHarness, enabled] of [['SQLite', sqliteHarness, true], [postgres.title('PostgreSQL'), postgresHarness, postgres.available]] as const) {
  describe.skipIf(!enabled)(`${name}: sagas`, () => {
    let harness: SqlHarness | undefined
    const open = async (): Promise<SqlEventStore> => (harness ??= makeHarness()).open()
    afterEach(async () => {
      await harness?.dispose()
      harness = undefined
    })

    it('runs every step in order and saves each result', async () => {
      const store = await open()
      const log: string[] = []
      const trip = booking(log)
      const runner = new SagaRunner(store.kysely, { sagas: [trip] })
      const state = await runner.start(trip, { trip: 'rome' }, { id: 'trip-1' })
      expect(state.status).toBe('completed')
      expect(log).toEqual(['do flight', 'do hotel', 'do car'])
      const saved = await runner.get('trip-1')
      expect(saved?.steps.map((s) => [s.name, s.status, s.result])).toEqual([['flight', 'done', { ref: 'flight-1' }], ['hotel', 'done', { ref: 'hotel-1' }], ['car', 'done', { ref: 'car-1' }]])
      expect(saved?.input).toEqual({ trip: 'rome' })
    })

    it('compensates the completed steps in reverse when a step fails, not the failed one', async () => {
      const store = await open()
      const log: string[] = []
      const trip = booking(log, { action: 'car' })
      const runner = new SagaRunner(store.kysely, { sagas: [trip] })
      const state = await runner.start(trip, { trip: 'rome' })
      expect(log).toEqual(['do flight', 'do hotel', 'do car', 'undo hotel hotel-1', 'undo flight flight-1'])
      expect(state.status).toBe('compensated')
      expect(state.error).toMatch(/step "car" of saga "book-trip" failed after 1 attempt\(s\): car is out of stock/)
      expect(state.steps.map((s) => s.status)).toEqual(['compensated', 'compensated', 'failed'])
    })

    it('ends in needs-attention, with both errors, when a compensation fails on every attempt', async () => {
      const store = await open()
      const log: string[] = []
      const trip = booking(log, { action: 'car', compensate: 'hotel' })
      const runner = new SagaRunner(store.kysely, { sagas: [trip] })
      const state = await runner.start(trip, { trip: 'rome' }, { id: 'stuck' })
      expect(state.status).toBe('needs-attention')
      expect(state.error).toMatch(/could not compensate step "hotel": hotel refuses to cancel; it had failed because step "car"/)
      // It stopped: the flight is not cancelled behind the hotel's back.
      expect(log).toEqual(['do flight', 'do hotel', 'do car', 'undo hotel hotel-1'])
      expect((await runner.list()).map((s) => s.id)).toEqual(['stuck'])
      expect(await runner.counts()).toEqual({ 'needs-attention': 1 })
      expect((await runner.resolve('stuck')).status).toBe('resolved')
      const again = await runner.resolve('stuck').catch((e: unknown) => e)
      expect(isPlinthError(again, 'PLINTH_ERR_SAGA_INVALID')).toBe(true)
    })

    it('retries a step with backoff and passes the same idempotency key on every attempt', async () => {
      const store = await open()
      const keys: string[] = []
      const flaky = saga({
        name: 'flaky',
        steps: [{ name: 'charge', retries: 2, retryDelay: 1, action: ({ idempotencyKey, attempt }) => {
          keys.push(idempotencyKey)
          if (attempt < 3) throw new Error(`attempt ${attempt} failed`)
          return 'charged'
        } }],
      })
      const runner = new SagaRunner(store.kysely, { sagas: [flaky] })
      const state = await runner.start(flaky, null, { id: 'f-1' })
      expect(state.status).toBe('completed')
      expect(keys).toEqual(['f-1:charge', 'f-1:charge', 'f-1:charge'])
      expect(state.steps[0]).toMatchObject({ status: 'done', attempts: 3, result: 'charged' })
    })

    it('retries a compensation as it retries the action, under a key of its own, before giving up', async () => {
      const store = await open()
      const keys: string[] = []
      const refund = saga({
        name: 'refund',
        steps: [
          { name: 'credit', retries: 1, retryDelay: 1, action: () => 'c-1', compensate: ({ idempotencyKey, attempt, result }) => {
            keys.push(`${idempotencyKey} #${attempt} ${String(result)}`)
            if (attempt === 1) throw new Error('the ledger is busy')
          } },
          { name: 'mail', action: () => { throw new Error('the mailer is down') } },
        ],
      })
      const state = await new SagaRunner(store.kysely, { sagas: [refund] }).start(refund, null, { id: 'r-1' })
      expect(state.status).toBe('compensated')
      expect(keys).toEqual(['r-1:credit:compensate #1 c-1', 'r-1:credit:compensate #2 c-1'])
    })

    it('fails a step whose attempt outlives its timeout, aborting its signal, and compensates', async () => {
      const store = await open()
      const log: string[] = []
      let aborted: unknown
      const slow = saga({
        name: 'slow',
        steps: [
          { name: 'reserve', action: () => 'r', compensate: () => void log.push('release') },
          { name: 'call', timeout: 20, action: ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted = signal.reason; resolve(undefined) })) },
        ],
      })
      const runner = new SagaRunner(store.kysely, { sagas: [slow] })
      const state = await runner.start(slow, null)
      expect(state.status).toBe('compensated')
      expect(state.error).toMatch(/step "call" of saga "slow" took longer than 20 ms/)
      expect(isPlinthError(aborted, 'PLINTH_ERR_SAGA_TIMEOUT')).toBe(true)
      expect(log).toEqual(['release'])
    })

    it('lets a second process that resumes a saga take it over: the first one stops at its next save, and no step runs past it twice', async () => {
      const store = await open()
      const calls: string[] = []
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      const definition = (blockConfigure: boolean) => saga({
        name: 'setup',
        steps: [
          { name: 'configure', action: async ({ idempotencyKey }) => { calls.push(idempotencyKey); if (blockConfigure) await gate } },
          { name: 'notify', action: ({ idempotencyKey }) => void calls.push(idempotencyKey) },
        ],
      })
      const slow = new SagaRunner(store.kysely, { sagas: [definition(true)] })
      const first = slow.start(definition(true), null, { id: 's-1' })
      await expect.poll(() => calls.length).toBe(1)
      // Another instance restarts and finds the saga "running": it cannot tell a live process from a dead one.
      const [taken] = await new SagaRunner(store.kysely, { sagas: [definition(false)] }).resume()
      expect(taken?.status).toBe('completed')
      release()
      expect((await first).status).toBe('completed')
      expect(calls).toEqual(['s-1:configure', 's-1:configure', 's-1:notify'])
    })

    it('refuses a saga it was not given, and bad declarations, saying what is wrong', async () => {
      const store = await open()
      const runner = new SagaRunner(store.kysely, { sagas: [] })
      const unknown = await runner.start(booking([]), { trip: 'x' }).catch((e: unknown) => e)
      expect(isPlinthError(unknown, 'PLINTH_ERR_SAGA_UNKNOWN')).toBe(true)
      expect((unknown as Error).message).toMatch(/no saga named "book-trip" is given to this runner; declared: none/)
      expect(() => saga({ name: 's', steps: [] })).toThrow(/saga "s" has no steps/)
      expect(() => saga({ name: 's', steps: [{ name: 'a', action: () => 1 }, { name: 'a', action: () => 2 }] })).toThrow(/two steps named "a"/)
      expect(() => saga({ name: 's', steps: [{ name: 'a' }] })).toThrow(/step "a" needs exactly one of action or wait/)
      expect(() => saga({ name: 's', steps: [{ name: 'a', action: () => 1, retries: 1.5 }] })).toThrow(/step "a": retries must be a whole number of 0 or more; got 1.5/)
      expect(() => saga({ name: 's', steps: [{ name: 'a', wait: { type: 't', key: () => 'k', correlate: () => 'k' } as never }] })).toThrow(/wait.timeout is required/)
      const bad = await new SagaRunner(store.kysely, { sagas: [booking([])] }).start(booking([]), { trip: 1n } as never).catch((e: unknown) => e)
      expect(isPlinthError(bad, 'PLINTH_ERR_SAGA_INVALID')).toBe(true)
    })
  })
}
