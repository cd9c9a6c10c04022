import { createApp, runCommand } from '@plinth/core'
import { probeService } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { Bus, messaging, RedisBroker, topic } from '../src/index.js'
import { eventually } from './conformance.js'

async function cli(app: ReturnType<typeof createApp>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCommand(app, ['dlq', ...argv], { out: (t) => out.push(t), err: (t) => err.push(t) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('plinth dlq: usage', () => {
  const app = createApp({ name: 'dlq-usage', components: [messaging()], logging: { level: 'silent' } })

  it('says what it needs when the action, topic, id or --all is missing', async () => {
    expect(await cli(app)).toMatchObject({ code: 2, err: expect.stringContaining('needs one of list, show, replay or purge; got nothing') })
    expect(await cli(app, 'show')).toMatchObject({ code: 2, err: expect.stringContaining('needs a TOPIC') })
    expect(await cli(app, 'show', 'orders')).toMatchObject({ code: 2, err: expect.stringContaining('needs the ID') })
    expect(await cli(app, 'purge', 'orders')).toMatchObject({ code: 2, err: expect.stringContaining('either one dead letter\'s ID or --all') })
    expect(await cli(app, 'replay', 'orders', '1-0', '--all')).toMatchObject({ code: 2 })
    expect(await cli(app, 'list', '--limit', '0')).toMatchObject({ code: 2, err: expect.stringContaining('--limit') })
  })

  it('says so when the app has no messaging component', async () => {
    const bare = createApp({ name: 'no-bus', components: [], logging: { level: 'silent' } })
    expect(await cli(bare, 'list')).toMatchObject({ code: 2, err: expect.stringContaining('no messaging component') })
  })
})

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
describe.skipIf(!redis.available)(redis.title('plinth dlq on Redis'), () => {
  it('lists, shows, replays and purges what a failing handler dead-lettered', async () => {
    const prefix = `plinth-test-dlq-${Math.random().toString(36).slice(2, 8)}`
    const url = 'redis://127.0.0.1:6379'
    const app = createApp({ name: 'dlq', components: [messaging({ url, prefix })], logging: { level: 'silent' } })
    const Orders = topic('orders.placed').of<{ order: number }>()
    const worker = new Bus({ broker: new RedisBroker({ url, prefix: `${prefix}:` }) })
    await worker.start()
    try {
      await worker.subscribe(Orders, (m) => { throw new Error(`order ${m.payload.order} is poison`) }, { group: 'billing', maxAttempts: 1 })
      for (const order of [1, 2, 3]) await worker.publish(Orders, { order })
      const letters = await eventually(async () => {
        const list = await worker.deadLetters.list(Orders.name)
        return list.length === 3 ? list : Promise.reject(new Error(`${list.length} of 3`))
      })

      const all = await cli(app, 'list')
      expect(all.err).toBe('')
      expect(all).toMatchObject({ code: 0, out: expect.stringContaining('orders.placed  3') })
      const listed = await cli(app, 'list', 'orders.placed')
      expect(listed.out).toContain(`${letters[0]!.id}  billing`)
      expect(listed.out).toContain('Error: order 1 is poison')
      const shown = await cli(app, 'show', 'orders.placed', letters[1]!.id)
      expect(JSON.parse(shown.out)).toMatchObject({ group: 'billing', attempts: 1, message: { payload: { order: 2 } } })
      expect(await cli(app, 'show', 'orders.placed', '1-1')).toMatchObject({ code: 1, err: expect.stringContaining('PLINTH_ERR_MESSAGING_DEAD_LETTER_NOT_FOUND') })
      expect(await cli(app, 'replay', 'orders.placed', letters[0]!.id)).toMatchObject({ code: 0, out: 'orders.placed: replayed 1 dead letter(s)' })
      expect(await cli(app, 'purge', 'orders.placed', '--all')).toMatchObject({ code: 0, out: expect.stringMatching(/purged [23] dead letter/) })
    } finally {
      await worker.stop(AbortSignal.timeout(1_000))
      const client = new Redis(url)
      const keys = await client.keys(`${prefix}:*`)
      if (keys.length > 0) await client.del(...keys)
      await client.quit()
    }
  })
})
