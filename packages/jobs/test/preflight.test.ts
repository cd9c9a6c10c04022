import { randomUUID } from 'node:crypto'
import { createApp, type PreflightReport } from '@plinth/core'
import { probeService } from '@plinth/core/testing'
import { Database, database } from '@plinth/db'
import { createTestDatabase, probePostgres } from '@plinth/db/testing'
import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BullmqQueue, Jobs, job, jobHandler, jobs, jobsMigrations, JOBS_TABLE, type JobsOptions } from '../src/index.js'

const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const postgres = await probePostgres()
const silent = { level: 'silent' } as const
const sendMail = job('mail.send').of<{ to: string }, void>()
const row = (report: PreflightReport, name: string) => report.results.find((r) => r.category === 'jobs' && r.name === name)
const run = (options: JobsOptions, extra: unknown[] = []) =>
  createApp({ name: 'shop', logging: silent, components: [...(extra as []), jobs(options), jobHandler(sendMail, { run: () => undefined })] }).preflight({ env: { APP_ENV: 'production' }, only: 'jobs', timeout: 3_000 })

describe('the jobs preflight without a queue to reach', () => {
  it('an unreachable Redis fails "queue reachable" with the refused connection within the deadline, and the checks that need it fail too', async () => {
    const report = await run({ url: 'redis://:hunter2@127.0.0.1:1' })
    expect(row(report, 'queue reachable')).toMatchObject({ status: 'fail', found: expect.stringMatching(/^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 does not answer: .*ECONNREFUSED/), fix: expect.stringContaining('JOBS_URL') })
    for (const name of ['workers in the group', 'no job stuck past its lease']) {
      expect(row(report, name)).toMatchObject({ status: 'fail', found: expect.stringContaining('the queue cannot be read'), fix: expect.stringContaining('JOBS_URL') })
    }
    expect(JSON.stringify(report)).not.toContain('hunter2')
    for (const result of report.results) expect(result.found).not.toMatch(/\n\s+at /)
  })
})

describe.skipIf(!redis.available)(redis.title('the jobs preflight on BullMQ'), () => {
  const prefix = `preflight-${randomUUID().slice(0, 8)}`
  const url = 'redis://127.0.0.1:6379'
  let admin: Redis
  beforeAll(() => {
    admin = new Redis(url)
  })
  afterAll(async () => {
    const queue = new BullmqQueue({ url, prefix })
    await queue.obliterate()
    await queue.close()
    await admin.quit()
  })

  it('passes when this instance runs the workers', async () => {
    const report = await run({ url, prefix })
    expect(row(report, 'queue reachable')).toMatchObject({ status: 'pass', found: 'BullMQ on Redis answered; 1 job name' })
    expect(row(report, 'workers in the group')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^this instance runs workers for 1 job name; 0 workers live now$/) })
    expect(row(report, 'no job stuck past its lease')).toMatchObject({ status: 'pass' })
  })

  it('an instance without workers fails while no worker of the group is connected, and passes once one is', async () => {
    const report = await run({ url, prefix, work: false })
    expect(row(report, 'workers in the group')).toMatchObject({ status: 'fail', found: 'no worker for mail.send: jobs of this name wait for ever', fix: expect.stringContaining('JOBS_WORKERS') })
    // Another instance's worker, as BullMQ lists it.
    const other = new Worker('mail.send', async () => undefined, { connection: { host: '127.0.0.1', port: 6379 }, prefix })
    await other.waitUntilReady()
    try {
      const served = await run({ url, prefix, work: false })
      expect(row(served, 'workers in the group')).toMatchObject({ status: 'pass', found: '1 worker live now' })
    } finally {
      await other.close()
    }
  })

  it('a job active past its lease whose lock is gone is reported with its id, age and what to do', async () => {
    const app = createApp({ name: 'shop', logging: silent, components: [jobs({ url, prefix, work: false, definitions: [sendMail] })] })
    await app.start()
    const status = await app.container.get(Jobs).enqueue(sendMail, { to: 'a@example.com' })
    await app.stop()
    // A worker takes it, then dies: its lock expires and nothing renews it.
    const taker = new Worker('mail.send', null, { connection: { host: '127.0.0.1', port: 6379 }, prefix })
    const taken = await taker.getNextJob('dead-worker')
    expect(taken?.id).toBe(status.id.split('@')[1])
    await taker.close()
    await admin.del(`${prefix}:mail.send:${taken.id!}:lock`)
    await admin.hset(`${prefix}:mail.send:${taken.id!}`, 'processedOn', String(Date.now() - 10 * 60_000))
    const report = await run({ url, prefix })
    expect(row(report, 'no job stuck past its lease')).toMatchObject({
      status: 'fail',
      found: `1 active job past its lease, run by nothing: ${status.id} active 10 min`,
      fix: expect.stringContaining('start a worker for mail.send'),
    })
  })
})

describe.skipIf(!postgres.available)(postgres.title('the jobs preflight on the database queue'), () => {
  let db: { url: string; drop: () => Promise<void> }
  beforeAll(async () => {
    db = await createTestDatabase('plinth_jobs_preflight')
  })
  afterAll(() => db?.drop())
  const onDatabase = (options: JobsOptions = {}, migrate = true) => run({ url: 'database', ...options }, [database({ url: db.url, migrate }), jobsMigrations])

  it('pending migrations stop the checks before they apply any: a warning when start-up applies them, a failure when it does not', async () => {
    const report = await onDatabase()
    // A database before its first start: the queue is not there yet, so nothing is stuck in it.
    expect(row(report, 'queue reachable')).toMatchObject({ status: 'warn', found: expect.stringContaining('its queue is not there yet: 1 migration(s) pending, which start-up applies (jobs/001_plinth_jobs)'), fix: expect.stringContaining('database checks') })
    expect(row(report, 'no job stuck past its lease')).toMatchObject({ status: 'pass' })
    expect(row(report, 'workers in the group')).toMatchObject({ status: 'pass' })
    const notApplied = await onDatabase({}, false)
    expect(row(notApplied, 'queue reachable')).toMatchObject({ status: 'fail', found: expect.stringContaining('start-up does not apply them (DATABASE_MIGRATE=false)'), fix: expect.stringContaining('database checks') })
    expect(row(notApplied, 'no job stuck past its lease')).toMatchObject({ status: 'fail' })
  })

  it('without workers here it warns (an idle worker leaves no trace), and a job whose lease ran out is stuck', async () => {
    const app = createApp({ name: 'shop', logging: silent, components: [database({ url: db.url, migrate: true }), jobsMigrations, jobs({ url: 'database', work: false, definitions: [sendMail] })] })
    await app.start()
    const queue = app.container.get(Jobs)
    const { id } = await queue.enqueue(sendMail, { to: 'a@example.com' })
    const started = Date.now() - 5 * 60_000
    await sql`update ${sql.table(JOBS_TABLE)} set state = 'active', worker = 'host:4242:gone', started_at = ${started}, lease_until = ${started + 30_000}, attempts = 1 where id = ${id}`.execute(app.container.get(Database).typed())
    await app.stop()

    const report = await onDatabase({ work: false })
    expect(row(report, 'queue reachable')).toMatchObject({ status: 'pass', found: 'the database queue answered; 1 job name' })
    expect(row(report, 'workers in the group')).toMatchObject({ status: 'warn', found: expect.stringContaining('no worker seen for mail.send') })
    expect(row(report, 'no job stuck past its lease')).toMatchObject({ status: 'fail', found: `1 active job past its lease, run by nothing: ${id} active 5 min (held by host:4242:gone)` })
    expect(row(await onDatabase(), 'workers in the group')).toMatchObject({ status: 'pass' })
  })
})
