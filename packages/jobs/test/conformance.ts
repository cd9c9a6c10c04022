/**
 * One suite, every backend: what a user of @plinth/jobs relies on, whichever queue runs the
 * jobs. Each backend's test file calls describeConformance with how to make a fresh queue.
 */
import { randomBytes } from 'node:crypto'
import { component, createApp, Health, isPlinthError, Metrics, type AnyProvider } from '@plinth/core'
import { startTestApp, type TestApp } from '@plinth/core/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Jobs, job, jobHandler, jobs, type JobEvent, type JobsOptions, type JobStatus } from '../src/index.js'
import { deferred, runFixture, until } from './helpers.js'

export interface QueueUnderTest {
  /** What the jobs component needs beside itself (database(), jobsMigrations). */
  readonly components: AnyProvider[]
  readonly options: JobsOptions
  /** What the crash worker process needs to reach the same queue. */
  readonly childEnv: Record<string, string>
  cleanup(): Promise<void>
}

export interface ConformanceTarget {
  readonly kind: 'database' | 'bullmq'
  fresh(): Promise<QueueUnderTest>
}

/** An eager component that needs the health registry, as a server would, so that it runs the checks. */
const probes = component('probes', { eager: true, deps: { health: Health }, create: ({ health }) => health })

const unique = (base: string) => `${base}-${randomBytes(3).toString('hex')}`
const finished = (s: JobStatus) => s.state === 'completed' || s.state === 'failed' || s.state === 'cancelled'

export function describeConformance(target: ConformanceTarget): void {
  let queue: QueueUnderTest
  const apps: TestApp[] = []
  beforeAll(async () => {
    queue = await target.fresh()
  })
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop().catch(() => undefined)
  })
  afterAll(async () => {
    await queue?.cleanup()
  })

  async function start(handlers: AnyProvider[], options: JobsOptions = {}) {
    const app = await startTestApp(
      createApp({ name: 'jobs-test', components: [probes, ...queue.components, jobs({ leaseDuration: 1_000, pollInterval: 50, ...queue.options, ...options }), ...handlers], logging: { level: 'silent' } }),
    )
    apps.push(app)
    const events: JobEvent[] = []
    const queueApi = app.get(Jobs)
    queueApi.subscribe((event) => events.push(event))
    const settle = (id: string) => until(() => queueApi.get(id), finished)
    return { app, jobs: queueApi, events, settle }
  }

  describe('running jobs', () => {
    it('runs an enqueued job to completion, with its progress, result and events', async () => {
      const greet = job(unique('greet')).of<{ who: string }, { text: string }>()
      const { jobs: q, events, settle } = await start([
        jobHandler(greet, {
          run: async ({ who }, ctx) => {
            await ctx.progress(50, 'half', { step: 1 })
            return { text: `hello ${who}` }
          },
        }),
      ])
      const queued = await q.enqueue(greet, { who: 'ada' })
      expect(queued).toMatchObject({ name: greet.name, state: 'queued', input: { who: 'ada' }, attempts: 0 })
      const done = await settle(queued.id)
      expect(done).toMatchObject({ state: 'completed', result: { text: 'hello ada' }, attempts: 1, progress: { percent: 50, message: 'half', data: { step: 1 } } })
      expect(done.finishedAt).toBeDefined()
      await until(async () => events.filter((e) => e.id === queued.id).map((e) => e.type), (types) => types.includes('completed'))
      expect(events.filter((e) => e.id === queued.id).map((e) => e.type)).toEqual(['enqueued', 'started', 'progress', 'completed'])
    })

    it('rejects invalid input at enqueue with the path of each field, and an unknown name with the known ones', async () => {
      const create = job(unique('course')).of<{ title: string; chapters: { title: string }[] }>({ input: z.object({ title: z.string().min(3), chapters: z.array(z.object({ title: z.string() })) }) })
      const { jobs: q } = await start([jobHandler(create, { run: () => undefined })])
      const error = await q.enqueue(create, { title: 'ok?', chapters: [{ title: 7 as unknown as string }] }).catch((e: unknown) => e)
      expect(isPlinthError(error, 'PLINTH_ERR_JOBS_INVALID_INPUT'), String(error)).toBe(true)
      expect((error as Error).message).toContain('chapters.0.title')
      expect(await q.list({ name: create.name })).toEqual([])
      const unknown = await q.enqueue('no.such.job', {}).catch((e: unknown) => e)
      expect(isPlinthError(unknown, 'PLINTH_ERR_JOBS_UNKNOWN_JOB')).toBe(true)
      expect((unknown as Error).message).toContain(create.name)
    })

    it('retries a failing job with its attempt count, resuming from the last checkpoint', async () => {
      const steps = job(unique('steps')).of<null, { resumedFrom: unknown; attempt: number }>({ attempts: 3, backoff: { type: 'fixed', delay: 10 } })
      const seen: unknown[] = []
      const { jobs: q, events, settle } = await start([
        jobHandler(steps, {
          run: async (_input, ctx) => {
            seen.push(ctx.lastCheckpoint)
            await ctx.checkpoint({ done: ctx.attempt })
            if (ctx.attempt < 3) throw new Error(`flaky on attempt ${ctx.attempt}`)
            return { resumedFrom: ctx.lastCheckpoint, attempt: ctx.attempt }
          },
        }),
      ])
      const { id } = await q.enqueue(steps, null)
      const done = await settle(id)
      expect(done).toMatchObject({ state: 'completed', attempts: 3, result: { resumedFrom: { done: 2 }, attempt: 3 }, checkpoint: { done: 3 } })
      expect(seen).toEqual([undefined, { done: 1 }, { done: 2 }])
      const failures = events.filter((e): e is Extract<JobEvent, { type: 'failed' }> => e.type === 'failed' && e.id === id)
      expect(failures.map((e) => [e.attempt, e.willRetry, e.error.message])).toEqual([
        [1, true, 'flaky on attempt 1'],
        [2, true, 'flaky on attempt 2'],
      ])
    })

    it('records a failure with a useful message: attempts used up, a non-Error thrown, a timeout', async () => {
      const always = job(unique('always')).of<null>({ attempts: 2, backoff: { type: 'fixed', delay: 10 } })
      const odd = job(unique('odd')).of<null>()
      const slow = job(unique('slow')).of<null>({ timeout: 100 })
      let aborted: unknown
      const { jobs: q, settle } = await start([
        jobHandler(always, { run: () => Promise.reject(new Error('disk full')) }),
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        jobHandler(odd, { run: () => { throw { reason: 'nope', status: 42 } } }),
        jobHandler(slow, {
          run: (_input, ctx) => new Promise(() => ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason))),
        }),
      ])
      const failed = await settle((await q.enqueue(always, null)).id)
      expect(failed).toMatchObject({ state: 'failed', attempts: 2, error: { message: 'disk full' } })
      const thrown = await settle((await q.enqueue(odd, null)).id)
      expect(thrown.state).toBe('failed')
      expect(thrown.error?.code).toBe('PLINTH_ERR_JOBS_THREW_NON_ERROR')
      expect(thrown.error?.message).toContain("reason: 'nope'")
      const timedOut = await settle((await q.enqueue(slow, null)).id)
      expect(timedOut.error).toMatchObject({ code: 'PLINTH_ERR_JOBS_TIMEOUT' })
      expect(timedOut.error?.message).toContain('timeout of 100 ms')
      expect(isPlinthError(aborted, 'PLINTH_ERR_JOBS_TIMEOUT')).toBe(true)
    })

    it('runs queued jobs by priority, lower first', async () => {
      const order = job(unique('order')).of<{ label: string }>()
      const gate = deferred()
      const ran: string[] = []
      const { jobs: q, settle } = await start([
        jobHandler(order, {
          run: async ({ label }) => {
            ran.push(label)
            if (label === 'first') await gate.promise
          },
        }),
      ])
      const first = await q.enqueue(order, { label: 'first' })
      await until(() => q.get(first.id), (s) => s.state === 'active')
      const late = await q.enqueue(order, { label: 'five' }, { priority: 5 })
      await q.enqueue(order, { label: 'one' }, { priority: 1 })
      await q.enqueue(order, { label: 'zero' })
      gate.resolve()
      await settle(late.id)
      expect(ran).toEqual(['first', 'zero', 'one', 'five'])
    })

    it('returns the pending job for a second enqueue with the same unique key, and a new one once it finished', async () => {
      const sync = job(unique('sync')).of<{ n: number }>()
      const gate = deferred()
      const { jobs: q, settle } = await start([jobHandler(sync, { run: () => gate.promise })])
      const a = await q.enqueue(sync, { n: 1 }, { uniqueKey: 'account-7' })
      const b = await q.enqueue(sync, { n: 2 }, { uniqueKey: 'account-7' })
      expect(b.id).toBe(a.id)
      const other = await q.enqueue(sync, { n: 3 }, { uniqueKey: 'account-8' })
      expect(other.id).not.toBe(a.id)
      gate.resolve()
      await settle(a.id)
      await settle(other.id)
      const c = await q.enqueue(sync, { n: 4 }, { uniqueKey: 'account-7' })
      expect(c.id).not.toBe(a.id)
      await settle(c.id)
    })

    it('holds a delayed job until its time', async () => {
      const later = job(unique('later')).of<null>()
      const { jobs: q, settle } = await start([jobHandler(later, { run: () => 'done' })])
      const queued = await q.enqueue(later, null, { delay: 300 })
      expect(Date.parse(queued.runAt) - Date.parse(queued.createdAt)).toBeGreaterThanOrEqual(300)
      const done = await settle(queued.id)
      expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(queued.runAt) - 5)
    })

    it('enqueues a repeating job once per fire time, however many schedules of it run', async () => {
      const tick = job(unique('tick')).of<{ n: number }>()
      const { jobs: q, events } = await start([jobHandler(tick, { run: () => undefined })])
      // Two schedules of one job stand for two instances running the same repeat.
      const stops = [q.schedule(tick, '* * * * * *', { n: 1 }), q.schedule(tick, '* * * * * *', { n: 1 })]
      await until(() => q.list({ name: tick.name }), (listed) => listed.length >= 2, 10_000)
      for (const stop of stops) stop()
      await new Promise((resolve) => setTimeout(resolve, 200))
      const listed = await q.list({ name: tick.name })
      const fireTimes = new Set(listed.map((s) => /cron-(\d+)$/.exec(s.id)?.[1]))
      expect(fireTimes.has(undefined)).toBe(false)
      expect(fireTimes.size).toBe(listed.length)
      expect(events.filter((e) => e.type === 'enqueued' && e.name === tick.name).length).toBe(listed.length)
      const bad = (() => {
        try {
          q.schedule(tick, '61 * * * *', { n: 1 })
        } catch (error) {
          return error
        }
      })()
      expect(isPlinthError(bad, 'PLINTH_ERR_JOBS_INVALID_CRON')).toBe(true)
    })
  })

  describe('cancel, retry, list', () => {
    it('cancels a queued job and an active one (its signal aborts), and refuses a finished or unknown one', async () => {
      const long = job(unique('long')).of<{ n: number }>()
      const started = deferred()
      let reason: unknown
      const { jobs: q, events } = await start([
        jobHandler(long, {
          run: (_input, ctx) =>
            new Promise((_resolve, reject) => {
              started.resolve()
              ctx.signal.addEventListener('abort', () => {
                reason = ctx.signal.reason
                reject(ctx.signal.reason as Error)
              })
            }),
        }),
      ])
      const active = await q.enqueue(long, { n: 1 })
      const waiting = await q.enqueue(long, { n: 2 })
      await started.promise
      expect((await q.cancel(waiting.id)).state).toBe('cancelled')
      expect((await q.cancel(active.id)).state).toBe('cancelled')
      await until(async () => reason, (r) => r !== undefined)
      expect(isPlinthError(reason, 'PLINTH_ERR_JOBS_CANCELLED')).toBe(true)
      expect((await until(() => q.get(active.id), (s) => s.state === 'cancelled')).finishedAt).toBeDefined()
      expect((await q.get(waiting.id)).state).toBe('cancelled')
      expect(events.filter((e) => e.type === 'cancelled').map((e) => e.id).sort()).toEqual([active.id, waiting.id].sort())
      const again = await q.cancel(active.id).catch((e: unknown) => e)
      expect(isPlinthError(again, 'PLINTH_ERR_JOBS_ALREADY_FINISHED'), String(again)).toBe(true)
      const missing = await q.cancel(`${long.name}@nope`).catch((e: unknown) => e)
      expect(isPlinthError(missing, 'PLINTH_ERR_JOBS_NOT_FOUND'), String(missing)).toBe(true)
      expect((await q.list({ state: 'cancelled', name: long.name })).map((s) => s.id).sort()).toEqual([active.id, waiting.id].sort())
    })

    it('retries a failed job by hand; it resumes from its checkpoint and completes', async () => {
      const fragile = job(unique('fragile')).of<null, unknown>()
      let fail = true
      const { jobs: q, settle } = await start([
        jobHandler(fragile, {
          run: async (_input, ctx) => {
            if (fail) {
              await ctx.checkpoint('page-3')
              throw new Error('upstream down')
            }
            return ctx.lastCheckpoint
          },
        }),
      ])
      const { id } = await q.enqueue(fragile, null)
      expect((await settle(id)).state).toBe('failed')
      const notAgain = await q.retry((await q.enqueue(fragile, null, { delay: 60_000 })).id).catch((e: unknown) => e)
      expect(isPlinthError(notAgain, 'PLINTH_ERR_JOBS_NOT_RETRYABLE')).toBe(true)
      fail = false
      expect((await q.retry(id)).state).toBe('queued')
      const done = await settle(id)
      expect(done).toMatchObject({ state: 'completed', result: 'page-3' })
      expect(done.attempts).toBeGreaterThanOrEqual(2)
      expect((await q.list({ state: 'completed', name: fragile.name })).map((s) => s.id)).toEqual([id])
      expect((await q.list({ state: 'queued', name: fragile.name })).length).toBe(1)
      const wrong = await q.list({ state: 'lost' as never }).catch((e: unknown) => e)
      expect(isPlinthError(wrong, 'PLINTH_ERR_JOBS_INVALID_OPTION')).toBe(true)
    })
  })

  describe('shutdown, crashes, health', () => {
    it('hands an unfinished job back at shutdown, not failed, and another instance finishes it', async () => {
      const patient = job(unique('patient')).of<null, string>()
      const started = deferred()
      const first = await start(
        [
          jobHandler(patient, {
            run: (_input, ctx) =>
              new Promise((_resolve, reject) => {
                started.resolve()
                ctx.signal.addEventListener('abort', () => reject(new Error('stopping')))
              }),
          }),
        ],
        { drainTimeout: 100 },
      )
      const observer = await start([], { work: false, definitions: [patient] })
      const { id } = await first.jobs.enqueue(patient, null)
      await started.promise
      await first.app.stop()
      const handedBack = await observer.jobs.backend.get(id)
      expect(handedBack?.state).toBe('queued')
      expect(handedBack?.error).toBeUndefined()
      const second = await start([jobHandler(patient, { run: (_input, ctx) => `finished on attempt ${ctx.attempt}` })])
      const done = await second.settle(id)
      expect(done.state).toBe('completed')
      if (target.kind === 'database') expect(done.result).toBe('finished on attempt 1')
    })

    it('runs a SIGKILLed worker\'s job again elsewhere, with its attempt count and checkpoint; a completed job never runs again', async () => {
      const worker = runFixture('crash-worker.ts', queue.childEnv)
      await worker.waitFor(/worker ready/)
      const crashJob = job('crash.job').of<{ n: number }, { resumedFrom: unknown }>({ attempts: 3 })
      const runs: number[] = []
      const producer = await start([], { work: false, definitions: [crashJob] })
      const { id } = await producer.jobs.enqueue(crashJob, { n: 1 })
      await worker.waitFor(new RegExp(`running ${id} attempt 1`))
      expect((await producer.jobs.get(id)).state).toBe('active')
      worker.child.kill('SIGKILL')
      expect((await worker.exited).signal).toBe('SIGKILL')
      const rescuer = await start([jobHandler(crashJob, { run: (_input, ctx) => (runs.push(ctx.attempt), { resumedFrom: ctx.lastCheckpoint }) })])
      const done = await until(() => rescuer.jobs.get(id), finished, 15_000)
      expect(done).toMatchObject({ state: 'completed', attempts: 2, result: { resumedFrom: { step: 1 } } })
      // Two more lease periods: a completed job is not taken again.
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      expect(runs).toEqual([2])
      expect((await rescuer.jobs.get(id)).state).toBe('completed')
    }, 30_000)

    it('fails a job whose handler exits the process, saying the worker was lost', async () => {
      const worker = runFixture('crash-worker.ts', { ...queue.childEnv, JOBS_TEST_MODE: 'exit', JOBS_TEST_STALLS: '0' })
      await worker.waitFor(/worker ready/)
      const crashJob = job('crash.job').of<{ n: number }, unknown>({ attempts: 1 })
      const watcher = await start([], { work: false, definitions: [crashJob] })
      // The database queue needs a worker alive somewhere to reap expired leases; BullMQ's stalled checker is a worker too.
      const reaper = await start([jobHandler(job('crash.reaper').of(), { run: () => undefined })])
      const { id } = await watcher.jobs.enqueue(crashJob, { n: 2 })
      expect((await worker.exited).code).toBe(3)
      if (target.kind === 'bullmq') await start([jobHandler(crashJob, { run: () => Promise.reject(new Error('must not run')) })], { maxStalledCount: 0 })
      const failed = await until(() => reaper.jobs.get(id), finished, 15_000)
      expect(failed.state).toBe('failed')
      expect(failed.error?.code).toBe('PLINTH_ERR_JOBS_WORKER_LOST')
      expect(failed.error?.message).toMatch(/stopped|killed|exited/)
    }, 30_000)

    it('reports health (reachable, oldest waiting age) and metrics per job name', async () => {
      const counted = job(unique('counted')).of<null>({ attempts: 2, backoff: { type: 'fixed', delay: 10 } })
      const idle = job(unique('idle')).of<null>()
      let calls = 0
      const { app, jobs: q, settle } = await start([
        jobHandler(counted, {
          run: async (_input, ctx) => {
            await ctx.progress(10)
            if (++calls === 1) throw new Error('once')
          },
        }),
      ])
      await settle((await q.enqueue(counted, null)).id)
      await q.enqueue(idle, null, { delay: 0 }).catch(() => undefined)
      const health = app.get(Health)
      await health.checkNow('jobs')
      const check = health.report().checks.find((c) => c.name === 'jobs')
      expect(check?.status).toBe('up')
      expect(check?.details).toMatchObject({ backend: target.kind })
      expect(typeof (check?.details as { oldestWaitingAgeMs?: unknown }).oldestWaitingAgeMs).toBe('number')
      const text = (await app.get(Metrics).render()).body
      const line = (metric: string) => new RegExp(`^${metric}\\{job="${counted.name}"\\} (\\d+)`, 'm').exec(text)?.[1]
      expect([line('jobs_enqueued_total'), line('jobs_started_total'), line('jobs_completed_total'), line('jobs_retried_total'), line('jobs_progress_updates_total')]).toEqual(['1', '2', '1', '1', '2'])
      expect(text).toMatch(new RegExp(`^jobs_duration_seconds_count\\{job="${counted.name}",outcome="completed"\\} 1`, 'm'))
      expect(text).toMatch(/^jobs_queue_depth\{state="completed"\} [1-9]/m)
    })
  })
}
