import { isPlinthError } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { backendKind, checkCron, job, jobEtag, pollingAnswer, repeatJob, type JobStatus } from '../src/index.js'

const raises = (code: string, fn: () => unknown) => {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(isPlinthError(caught, code), String(caught)).toBe(true)
  return caught as Error
}

describe('job definitions', () => {
  it('refuses a bad name or option, naming it', () => {
    expect(raises('PLINTH_ERR_JOBS_INVALID_OPTION', () => job('has space')).message).toContain('"has space"')
    expect(raises('PLINTH_ERR_JOBS_INVALID_OPTION', () => job('a').of({ attempts: 0 })).message).toContain('attempts')
    expect(raises('PLINTH_ERR_JOBS_INVALID_OPTION', () => job('a').of({ backoff: { type: 'linear' as never, delay: 1 } })).message).toContain('backoff.type')
    expect(raises('PLINTH_ERR_JOBS_INVALID_OPTION', () => job('a').of({ priority: -1 })).message).toContain('priority')
    expect(raises('PLINTH_ERR_JOBS_INVALID_OPTION', () => job('a').of({ input: {} as never })).message).toContain('Standard Schema')
  })

  it('refuses a cron expression that does not parse, at declaration', () => {
    const error = raises('PLINTH_ERR_JOBS_INVALID_CRON', () => repeatJob(job('report').of<null>(), 'every monday', null))
    expect(error.message).toContain('"every monday"')
    expect(() => checkCron('*/5 * * * *', 'report')).not.toThrow()
  })

  it('picks the backend from the URL and refuses one it cannot use', () => {
    expect(backendKind(undefined)).toBe('database')
    expect(backendKind('database')).toBe('database')
    expect(backendKind('rediss://cache:6380')).toBe('bullmq')
    expect(raises('PLINTH_ERR_JOBS_INVALID_URL', () => backendKind('amqp://user:secret@mq')).message).not.toContain('secret')
  })
})

describe('the polling answer', () => {
  const status: JobStatus = { id: 'j1', name: 'course.generate', state: 'active', input: {}, attempts: 1, maxAttempts: 3, priority: 0, createdAt: '2026-01-01T00:00:00.000Z', runAt: '2026-01-01T00:00:00.000Z', progress: { percent: 20 } }

  it('answers 200 with an ETag and Retry-After, then 304 until the state changes', () => {
    const first = pollingAnswer(status)
    expect(first.statusCode).toBe(200)
    expect(first.body).toEqual(status)
    expect(first.headers['retry-after']).toBe('1')
    const unchanged = pollingAnswer(status, first.headers.etag)
    expect(unchanged.statusCode).toBe(304)
    expect(unchanged.body).toBeUndefined()
    expect(pollingAnswer(status, `W/${first.headers.etag}`).statusCode).toBe(304)
    const moved = { ...status, progress: { percent: 40 } }
    expect(pollingAnswer(moved, first.headers.etag).statusCode).toBe(200)
    expect(jobEtag(moved)).not.toBe(first.headers.etag)
  })

  it('stops asking the client to come back once the job has finished', () => {
    const done = pollingAnswer({ ...status, state: 'completed', result: { ok: true } })
    expect(done.headers['retry-after']).toBeUndefined()
    expect(pollingAnswer({ ...status, state: 'queued' }).headers['retry-after']).toBe('2')
  })
})

describe('handler dependencies', () => {
  it('fails the start naming the dependency nobody provides and where the handler was declared', async () => {
    const { createApp, token } = await import('@plinth/core')
    const { database } = await import('@plinth/db')
    const { jobHandler, jobs, jobsMigrations } = await import('../src/index.js')
    const Mailer = token('mailer').of<{ send(): void }>()
    const handler = jobHandler(job('welcome.mail').of<null>(), { deps: { mailer: Mailer }, run: () => undefined })
    const app = createApp({ name: 'missing', components: [database({ url: 'sqlite::memory:', migrate: true }), jobsMigrations, jobs({ url: 'database' }), handler], logging: { level: 'silent' } })
    const failure = await app.start({ env: {} }).then(() => undefined, (error: unknown) => error)
    await app.stop().catch(() => undefined)
    const text = String((failure as Error & { describe?: () => string }).describe?.() ?? failure) + String((failure as { cause?: unknown }).cause)
    expect(text).toContain('PLINTH_ERR_JOBS_MISSING_DEPENDENCY')
    expect(text).toContain('mailer (mailer)')
    expect(text).toContain('definition.test.ts')
  })
})
