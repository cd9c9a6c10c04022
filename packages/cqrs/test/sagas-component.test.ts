import { describe, expect, it } from 'vitest'
import { Health, Metrics, component, createApp, provide } from '@plinth/core'
import { probeService, startTestApp } from '@plinth/core/testing'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Database, database } from '@plinth/db'
import { EventStore, SagaDefinitions, Sagas, eventStore, saga } from '../src/index.js'

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })

const refund = saga<{ order: string }>({
  name: 'refund',
  steps: [
    { name: 'credit', action: ({ input }) => `credit-${input.order}`, compensate: () => Promise.reject(new Error('the ledger is closed')) },
    { name: 'mail', action: () => Promise.reject(new Error('the mailer is down')) },
  ],
})

// A component that starts sagas, as a command handler would.
const refunds = component('refunds', { deps: { sagas: Sagas }, create: ({ sagas }) => ({ refund: (order: string) => sagas.start(refund, { order }, { id: `refund-${order}` }) }) })

describe('Sagas in an app', () => {
  it('reports a saga that could not compensate in health details and metrics, with its error', async () => {
    const app = createApp({ name: 'shop', logging: { level: 'silent' }, metrics: {}, components: [database(), ...eventStore(), Sagas, provide(SagaDefinitions, { value: refund }), refunds] })
    const t = await startTestApp(app)
    try {
      const state = await (await t.resolve(refunds)).refund('o-9')
      expect(state.status).toBe('needs-attention')
      const health = await t.resolve(Health)
      health.start()
      await health.checkNow()
      const report = JSON.stringify(health.report())
      expect(report).toContain('"sagas"')
      expect(report).toContain('"degraded"')
      expect(report).toContain('refund-o-9')
      expect(report).toMatch(/could not compensate step \\"credit\\": the ledger is closed; it had failed because step \\"mail\\" of saga \\"refund\\" failed after 1 attempt\(s\): the mailer is down/)
      const scrape = (await (await t.resolve(Metrics)).render()).body
      expect(scrape).toMatch(/plinth_sagas_needing_attention 1/)
      expect(scrape).toMatch(/plinth_saga_transitions_total\{saga="refund",status="needs-attention"\} 1/)
    } finally {
      await t.stop()
    }
  })

  it('resumes, when the app starts, a saga that the last process left in the middle of a step', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'plinth-sagas-app-'))
    const calls: string[] = []
    const setup = saga<{ device: string }>({
      name: 'setup',
      steps: ['reserve', 'configure', 'notify'].map((name) => ({ name, action: ({ idempotencyKey }: { idempotencyKey: string }) => void calls.push(idempotencyKey) })),
    })
    const app = createApp({ name: 'devices', logging: { level: 'silent' }, components: [database(), ...eventStore(), Sagas, provide(SagaDefinitions, { value: setup })] })
    try {
      // First run: only the tables. Then the row a process killed inside "configure" leaves behind.
      const first = await startTestApp(app, { env: { DATA_DIR: dataDir } })
      const now = new Date().toISOString()
      const steps = [{ name: 'reserve', status: 'done', attempts: 1, result: null }, { name: 'configure', status: 'running', attempts: 1 }, { name: 'notify', status: 'pending', attempts: 0 }]
      await (await first.resolve(Database)).kysely.insertInto('plinth_sagas').values({ id: 'setup-1', name: 'setup', status: 'running', input: '{"device":"d-1"}', steps: JSON.stringify(steps), started_at: now, updated_at: now }).execute()
      await first.stop()

      const second = await startTestApp(app, { env: { DATA_DIR: dataDir } })
      try {
        const state = await (await second.resolve(Sagas)).get('setup-1')
        expect(state?.status).toBe('completed')
        expect(calls).toEqual(['setup-1:configure', 'setup-1:notify'])
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it.skipIf(!redis.available)(redis.title('runs event-driven sagas on the Redis Streams store, their rows in the app database'), async () => {
    const prefix = `plinth-test:{sagas-${randomBytes(4).toString('hex')}}:`
    const shipped: string[] = []
    const ship = saga<{ order: string }>({
      name: 'ship',
      startOn: { type: 'order.placed' },
      steps: [
        { name: 'paid', wait: { type: 'payment.received', key: ({ input }) => input.order, correlate: (event) => (event.data as { order: string }).order, timeout: 60_000 } },
        { name: 'ship', action: ({ input }) => void shipped.push(input.order) },
      ],
    })
    const app = createApp({ name: 'shop', logging: { level: 'silent' }, components: [database(), ...eventStore({ url: redisUrl, prefix }), Sagas, provide(SagaDefinitions, { value: ship })] })
    const t = await startTestApp(app)
    try {
      const store = await t.resolve(EventStore)
      const sagas = await t.resolve(Sagas)
      await store.append('order-1', [{ type: 'order.placed', data: { order: 'o-1' } }])
      await expect.poll(async () => (await sagas.list(['waiting'])).length, { timeout: 5_000 }).toBe(1)
      await store.append('payment-1', [{ type: 'payment.received', data: { order: 'o-1' } }])
      await expect.poll(() => sagas.counts(), { timeout: 5_000 }).toEqual({ completed: 1 })
      expect(shipped).toEqual(['o-1'])
    } finally {
      await t.stop()
      const admin = new Redis(redisUrl)
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
      await admin.quit()
    }
  })
})
