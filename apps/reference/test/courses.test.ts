/**
 * Courses on each queue: the database queue on SQLite, on PostgreSQL with two instances sharing
 * the queue (one serving the API without workers, the other running the jobs), and BullMQ.
 */
import { randomBytes } from 'node:crypto'
import { probeService } from '@plinth/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeCourses } from './courses.case.js'
import { createDatabase, postgres } from './postgres.js'
import { eventually, startService } from './service.js'

const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) })

describe('on SQLite', () => {
  describeCourses(
    () => startService(),
    () => startService({ JOBS_WORKERS: 'false' }),
  )
})

describe.skipIf(!postgres.available)(postgres.title('on PostgreSQL'), () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  beforeAll(async () => {
    database = await createDatabase()
  })
  afterAll(() => database?.drop())

  describeCourses(() => startService({ DATABASE_URL: database.url }))

  it('shares one queue between two instances: one takes the request, the other runs the job', async () => {
    await using api = await startService({ DATABASE_URL: database.url, JOBS_WORKERS: 'false' })
    await using worker = await startService({ DATABASE_URL: database.url })
    const { jobId } = (await api.rest('POST', '/api/v1/courses', { topic: 'glaciers', chapters: 2 })).body as { jobId: string }
    const done = await eventually(async () => {
      const status = (await api.rest('GET', `/api/v1/jobs/${encodeURIComponent(jobId)}`)).body
      return status.state === 'completed' ? status : undefined
    }, 15_000)
    expect(done.result.chapters).toHaveLength(2)
    const ran = await worker.metrics()
    expect(ran).toMatch(/^jobs_completed_total\{job="course.generate"\} [1-9]/m)
    expect(await api.metrics()).not.toMatch(/^jobs_started_total\{job="course.generate"\} [1-9]/m)
  })
})

describe.skipIf(!redis.available)(redis.title('on BullMQ'), () => {
  const prefix = `plinth-courses-${process.pid}-${randomBytes(4).toString('hex')}`
  afterAll(async () => {
    const { BullmqQueue } = await import('@plinth/jobs')
    const queue = new BullmqQueue({ url: REDIS_URL, prefix })
    await queue.obliterate()
    await queue.close()
  })
  describeCourses(() => startService({ JOBS_URL: REDIS_URL, JOBS_PREFIX: prefix }))
})
