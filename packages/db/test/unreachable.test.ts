/**
 * An optional database on a closed port (127.0.0.1:1, where nothing listens): what the app says
 * about it at start, in its ready event and its log.
 */
import { Writable } from 'node:stream'
import { EventSpy, Health, component, createApp, createLogger } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { describe, expect, it, vi } from 'vitest'
import { Database, database } from '../src/index.js'

const closedPort = 'postgres://plinth:pw-not-logged@127.0.0.1:1/app'

function captured() {
  const lines: { level: number; msg: string; [field: string]: unknown }[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string }))
      done()
    },
  })
  return { logger: createLogger({ level: 'debug', destination: stream }), lines }
}

/** A component that reports its health and fails while the database is down, as a job queue does. */
const queue = component('queue', {
  eager: true,
  deps: { db: Database },
  create: ({ db }) => db,
  health: async (db) => {
    await db.whenReady().catch((error: unknown) => {
      throw new Error(`the queue's database is unavailable: ${(error as Error).message}`)
    })
  },
})

describe('an optional database that cannot be reached at start', () => {
  it('is named degraded, with why, by the ready event and the ready line', async () => {
    const log = captured()
    const spy = new EventSpy()
    const app = createApp({ name: 'closed-port', components: [database({ url: closedPort, optional: true })], logging: log.logger })
    app.events.subscribe(spy.listener)
    await using _ = await startTestApp(app)

    expect(app.state).toBe('degraded')
    const [ready] = spy.of('ready')
    expect(ready?.degraded).toEqual(['database'])
    expect(spy.of('component-degraded')).toEqual([expect.objectContaining({ component: 'database', reason: expect.stringMatching(/^PLINTH_ERR_DB_UNAVAILABLE: database postgres:\/\/plinth:\*\*\*@127\.0\.0\.1:1\/app is unavailable: .*ECONNREFUSED/) })])
    const line = log.lines.find((l) => l.msg.startsWith('ready in'))
    expect(line?.msg).toMatch(/; degraded: database \(PLINTH_ERR_DB_UNAVAILABLE: database postgres:\/\/plinth:\*\*\*@127\.0\.0\.1:1\/app is unavailable: .*ECONNREFUSED 127\.0\.0\.1:1\)/)
    expect(JSON.stringify(log.lines)).not.toContain('pw-not-logged')
  })

  it('says so once: no warning per reconnection attempt, and no separate warning per check that fails because of it', async () => {
    const log = captured()
    const app = createApp({ name: 'closed-port', components: [database({ url: closedPort, optional: true, retry: { initialDelay: 5, maxDelay: 10 } }), queue], logging: log.logger })
    await using t = await startTestApp(app)
    const health = await t.resolve(Health)
    health.start()
    await vi.waitFor(() => expect(log.lines.some((l) => l.msg.includes('degraded too'))).toBe(true), { timeout: 5_000 })
    // Reconnection goes on in the background (every 10 ms here), at debug.
    await vi.waitFor(() => expect(log.lines.filter((l) => l.msg.includes('unavailable; retrying in')).length).toBeGreaterThan(5), { timeout: 5_000 })
    const warnings = log.lines.filter((l) => l.level >= 40).map((l) => l.msg)
    expect(warnings).toEqual([
      expect.stringMatching(/^database is unavailable; running degraded: PLINTH_ERR_DB_UNAVAILABLE/),
      'queue is degraded too: it depends on database',
    ])
  })
})
