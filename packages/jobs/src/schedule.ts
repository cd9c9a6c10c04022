/** Repeating jobs: a cron expression (croner) that calls back with each fire time. */
import { Cron } from 'croner'
import { jobsErrors } from './errors.js'

export interface CronOptions {
  /** IANA time zone of the expression. Default: the machine's. */
  timezone?: string
}

/**
 * Checks a cron expression; throws PLINTH_ERR_JOBS_INVALID_CRON saying what croner found wrong.
 *
 * @example
 * checkCron('*\/5 * * * *', 'report.daily') // fine
 * checkCron('every monday', 'report.daily') // throws
 */
export function checkCron(expression: string, job: string, options: CronOptions = {}): void {
  try {
    const cron = new Cron(expression, { paused: true, ...(options.timezone ? { timezone: options.timezone } : {}) })
    cron.stop()
  } catch (error) {
    throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_CRON', `the cron expression ${JSON.stringify(expression)} of job "${job}" does not parse: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { job, expression },
    })
  }
}

/**
 * Calls `fire(fireTime)` each time `expression` fires (fireTime in milliseconds, to the second);
 * returns the function that stops it.
 *
 * @example
 * const stop = cronSchedule('report.daily', '0 7 * * *', {}, async (at) => console.log(at), console.error)
 */
export function cronSchedule(job: string, expression: string, options: CronOptions, fire: (fireTime: number) => Promise<void>, failed: (error: unknown) => void): () => void {
  checkCron(expression, job, options)
  const cron = new Cron(expression, { ...(options.timezone ? { timezone: options.timezone } : {}), protect: true }, (self: Cron) => {
    const at = self.currentRun()?.getTime() ?? Date.now()
    fire(Math.round(at / 1000) * 1000).catch(failed)
  })
  return () => cron.stop()
}
