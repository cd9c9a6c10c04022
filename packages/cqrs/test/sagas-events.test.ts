import { afterEach, describe, expect, it } from 'vitest'
import { SagaRunner, saga, type SqlEventStore } from '../src/index.js'
import { postgres, postgresHarness, sqliteHarness, type SqlHarness } from './harness.js'

interface Order {
  order: string
}

/** Starts on order.placed, reserves stock, waits for the order's payment, then ships. */
function shipping(log: string[], paymentTimeout = 60_000) {
  return saga<Order>({
    name: 'ship-order',
    startOn: { type: 'order.placed', input: (event) => ({ order: (event.data as Order).order }) },
    steps: [
      { name: 'reserve', action: ({ input }) => void log.push(`reserve ${input.order}`), compensate: ({ input }) => void log.push(`release ${input.order}`) },
      { name: 'payment', wait: { type: 'payment.received', key: ({ input }) => input.order, correlate: (event) => (event.data as Order).order, timeout: paymentTimeout } },
      { name: 'ship', action: ({ input, results }) => void log.push(`ship ${input.order} paid ${(results.payment as { amount: number }).amount}`) },
    ],
  })
}

for (const [name, makeHarness, enabled] of [['SQLite', sqliteHarness, true], [postgres.title('PostgreSQL'), postgresHarness, postgres.available]] as const) {
  describe.skipIf(!enabled)(`${name}: event-driven sagas`, () => {
    let harness: SqlHarness | undefined
    const runners: SagaRunner[] = []
    const open = async (): Promise<SqlEventStore> => (harness ??= makeHarness()).open()
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.close()
      await harness?.dispose()
      harness = undefined
    })
    const listening = async (store: SqlEventStore, definition: ReturnType<typeof shipping>) => {
      const runner = new SagaRunner(store.kysely, { sagas: [definition], store, timerInterval: 20 })
      runners.push(runner)
      await runner.listen()
      return runner
    }

    it('starts on its event, waits for the event with its key, ignoring others, then acts on it', async () => {
      const store = await open()
      const log: string[] = []
      const runner = await listening(store, shipping(log))
      await store.append('order-1', [{ type: 'order.placed', data: { order: 'o-1' } }])
      await expect.poll(async () => (await runner.list(['waiting'])).length, { timeout: 5_000 }).toBe(1)
      const [waiting] = await runner.list(['waiting'])
      expect(waiting?.waiting).toMatchObject({ type: 'payment.received', key: 'o-1' })
      await store.append('payment-2', [{ type: 'payment.received', data: { order: 'o-2', amount: 5 } }])
      await store.append('payment-1', [{ type: 'payment.received', data: { order: 'o-1', amount: 30 } }])
      await expect.poll(async () => (await runner.get(waiting!.id))?.status, { timeout: 5_000 }).toBe('completed')
      expect(log).toEqual(['reserve o-1', 'ship o-1 paid 30'])
      expect((await runner.get(waiting!.id))?.steps[1]).toMatchObject({ status: 'done', result: { order: 'o-1', amount: 30 } })
    })

    it('fails the wait when no event comes before its timeout, and compensates what was done', async () => {
      const store = await open()
      const log: string[] = []
      const runner = await listening(store, shipping(log, 50))
      await store.append('order-1', [{ type: 'order.placed', data: { order: 'o-1' } }])
      await expect.poll(async () => (await runner.list(['compensated'])).length, { timeout: 5_000 }).toBe(1)
      const [ended] = await runner.list(['compensated'])
      expect(ended?.error).toMatch(/step "payment" waited 50 ms for a payment.received event with key "o-1", and none came/)
      expect(log).toEqual(['reserve o-1', 'release o-1'])
      // A payment after the deadline finds no saga waiting for it.
      const late = await store.append('payment-1', [{ type: 'payment.received', data: { order: 'o-1', amount: 30 } }])
      await expect.poll(() => store.readCheckpoint('sagas'), { timeout: 5_000 }).toBeGreaterThanOrEqual(late.position)
      expect(log).toEqual(['reserve o-1', 'release o-1'])
      expect(await runner.counts()).toEqual({ compensated: 1 })
    })

    it('starts one saga per event, however often the event is delivered', async () => {
      const store = await open()
      const log: string[] = []
      const first = await listening(store, shipping(log))
      const before = await store.append('other', [{ type: 'unrelated', data: {} }])
      const { position } = await store.append('order-1', [{ type: 'order.placed', data: { order: 'o-1' } }])
      await expect.poll(async () => (await first.list(['waiting'])).length, { timeout: 5_000 }).toBe(1)
      await first.close()
      // Another process whose checkpoint is behind delivers the event again.
      await store.saveCheckpoint('sagas', before.position)
      const second = await listening(store, shipping(log))
      await expect.poll(() => store.readCheckpoint('sagas'), { timeout: 5_000 }).toBeGreaterThanOrEqual(position)
      expect(await second.counts()).toEqual({ waiting: 1 })
      expect(log).toEqual(['reserve o-1'])
    })

    it('starts no saga for events appended before it first listened, unless asked to', async () => {
      const store = await open()
      const log: string[] = []
      const { position } = await store.append('order-0', [{ type: 'order.placed', data: { order: 'o-0' } }])
      const fromNow = await listening(store, shipping(log))
      await store.append('order-1', [{ type: 'order.placed', data: { order: 'o-1' } }])
      await expect.poll(async () => (await fromNow.list(['waiting'])).map((s) => s.input), { timeout: 5_000 }).toEqual([{ order: 'o-1' }])
      await fromNow.close()
      await store.saveCheckpoint('sagas', 0)
      const fromStart = new SagaRunner(store.kysely, { sagas: [shipping(log)], store, from: 'start' })
      runners.push(fromStart)
      await fromStart.listen()
      await expect.poll(() => store.readCheckpoint('sagas'), { timeout: 5_000 }).toBeGreaterThan(position)
      expect(log).toEqual(['reserve o-1', 'reserve o-0'])
    })
  })
}
