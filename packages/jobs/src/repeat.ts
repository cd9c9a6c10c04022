/** Repeating jobs declared by modules: a job, a cron expression and the input each run gets. */
import { provide, token, type MultiProvider } from '@plinth/core'
import type { EnqueueOptions, JobDefinition } from './definition.js'
import { checkCron, type CronOptions } from './schedule.js'

/** A repeating job as the jobs component starts it. */
export interface JobRepeat {
  readonly definition: JobDefinition<any, any>
  readonly cron: string
  readonly input: unknown
  readonly options: CronOptions & EnqueueOptions
}

/** Every repeating job the modules declare; the jobs component schedules them at start. */
export const JobRepeats = token('job-repeats').many<JobRepeat>()

/**
 * Declares a job that is enqueued each time a cron expression fires (once per fire time, however
 * many instances run). A bad expression throws PLINTH_ERR_JOBS_INVALID_CRON here, at declaration.
 *
 * @example
 * export const nightlyCleanup = repeatJob(cleanup, '0 3 * * *', { olderThanDays: 30 }, { timezone: 'UTC' })
 */
export function repeatJob<I, R, N extends string>(definition: JobDefinition<I, R, N>, cron: string, input: I, options: CronOptions & EnqueueOptions = {}): MultiProvider<JobRepeat, 'job-repeats'> {
  checkCron(cron, definition.name, options)
  return provide(JobRepeats, { value: { definition, cron, input, options } })
}
