/**
 * A job event sink that cannot publish for a while (its broker is down): the queue goes on
 * running jobs, says so once with the reason, not once per progress event, and says when
 * publishing works again and how many events were not published meanwhile.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, createLogger, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { database } from '@plinth/db'
import { afterAll, expect, it } from 'vitest'
import { JobEvents, Jobs, job, jobHandler, jobs, jobsMigrations, type JobEventSink } from '../src/index.js'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

it('an outage of the job event sink is one warning with its reason, and its end one line with the count', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-jobs-events-'))
  dirs.push(dir)
  const lines: Record<string, unknown>[] = []
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } })
  // A sink as an app could write one: its broker refuses everything while `down`.
  let down = true
  const sink: JobEventSink = { publish: () => (down ? Promise.reject(new Error('the broker refused the connection')) : Promise.resolve()), subscribe: () => () => undefined }
  const work = job('work').of<Record<string, never>, string>()
  const app = createApp({
    name: 'events-outage',
    logging: logger,
    components: [
      database({ url: `sqlite:${join(dir, 'jobs.sqlite')}`, migrate: true }),
      jobsMigrations,
      provide(JobEvents, { value: sink }),
      jobs({ url: 'database' }),
      jobHandler(work, {
        run: async (_input, ctx) => {
          for (const percent of [20, 40, 60, 80]) await ctx.progress(percent)
          return 'done'
        },
      }),
    ],
  })
  await using t = await startTestApp(app)
  const queue = await t.resolve(Jobs)
  const settled = async (id: string) => {
    await expect.poll(async () => (await queue.get(id)).state, { timeout: 10_000 }).toBe('completed')
  }
  await settled((await queue.enqueue(work, {})).id)
  const warnings = () => lines.filter((line) => line.level === 40 && String(line.msg).startsWith('could not publish the job event'))
  await expect.poll(() => lines.filter((line) => String(line.msg).startsWith('could not publish the job event')).length).toBeGreaterThanOrEqual(6)
  expect(warnings()).toHaveLength(1)
  expect(warnings()[0]).toMatchObject({ reason: 'the broker refused the connection' })
  expect(warnings()[0]).not.toHaveProperty('err')

  down = false
  await settled((await queue.enqueue(work, {})).id)
  const recovered = lines.find((line) => String(line.msg).startsWith('job events publish again'))
  expect(recovered).toMatchObject({ level: 30 })
  expect(recovered!.lost).toBeGreaterThanOrEqual(6)
  expect(warnings()).toHaveLength(1)
})
