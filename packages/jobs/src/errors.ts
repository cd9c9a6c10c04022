/**
 * The errors of @plinth/jobs: every code a user of the package can meet, with what to do next
 * and, where it is the caller's fault, the HTTP status REST answers with.
 */
import { defineErrors } from '@plinth/core'

/**
 * The catalogue of @plinth/jobs.
 *
 * @example
 * import { jobsErrors } from '@plinth/jobs'
 * if (jobsErrors.is(error, 'PLINTH_ERR_JOBS_INVALID_INPUT')) console.log(error.details?.issues)
 */
export const jobsErrors = defineErrors('@plinth/jobs', {
  PLINTH_ERR_JOBS_INVALID_INPUT: {
    title: 'Invalid job input',
    hint: 'Fix the fields listed in the error (details.issues gives each path) and enqueue the job again.',
    status: 422,
  },
  PLINTH_ERR_JOBS_UNKNOWN_JOB: {
    title: 'Unknown job',
    hint: 'Declare the job with job(name).of<Input, Result>() and give it a handler with jobHandler(); check the spelling of the name.',
    status: 400,
  },
  PLINTH_ERR_JOBS_NOT_FOUND: {
    title: 'Job not found',
    hint: 'Use the id that enqueue() returned; finished jobs may have been removed by retention.',
    status: 404,
  },
  PLINTH_ERR_JOBS_ALREADY_FINISHED: {
    title: 'Job already finished',
    hint: 'A completed, failed or cancelled job cannot be cancelled; retry() a failed or cancelled job to run it again.',
    status: 409,
  },
  PLINTH_ERR_JOBS_NOT_RETRYABLE: {
    title: 'Job cannot be retried',
    hint: 'Only a failed or cancelled job can be retried; a queued or active job is already going to run.',
    status: 409,
  },
  PLINTH_ERR_JOBS_INVALID_CRON: {
    title: 'Invalid cron expression',
    hint: 'Use five or six fields (second optional): "*/5 * * * *" runs every five minutes; see croner\'s documentation for the syntax.',
    status: 400,
  },
  PLINTH_ERR_JOBS_INVALID_OPTION: {
    title: 'Invalid job option',
    hint: 'Fix the option named in the message: attempts and concurrency are whole numbers of at least 1, delays and timeouts milliseconds of at least 0.',
    status: 400,
  },
  PLINTH_ERR_JOBS_INVALID_URL: {
    title: 'Invalid JOBS_URL',
    hint: 'Set JOBS_URL to redis://host:port (or rediss://) for BullMQ, or to "database" (or leave it unset) for the queue on the app\'s database.',
  },
  PLINTH_ERR_JOBS_TIMEOUT: {
    title: 'Job timed out',
    hint: 'The handler ran past the job\'s timeout: raise `timeout` in the job\'s options, or make the handler stop when ctx.signal aborts and checkpoint its progress.',
  },
  PLINTH_ERR_JOBS_THREW_NON_ERROR: {
    title: 'Job handler threw something that is not an Error',
    hint: 'Throw an Error (new Error(...)) from job handlers so that the failure has a message and a stack.',
  },
  PLINTH_ERR_JOBS_WORKER_LOST: {
    title: 'Job worker lost',
    hint: 'The process running the job stopped (killed, crashed or called process.exit) before finishing it; look at that process\'s logs. The job runs again while attempts remain.',
  },
  PLINTH_ERR_JOBS_CANCELLED: {
    title: 'Job cancelled',
    hint: 'The job was cancelled while it ran; enqueue it again or retry() it to run it anyway.',
    status: 409,
  },
  PLINTH_ERR_JOBS_UNAVAILABLE: {
    title: 'Job queue unavailable',
    hint: 'The queue\'s database or Redis server cannot be reached; check that it runs and that the URL is right. Try again later.',
    status: 503,
  },
  PLINTH_ERR_JOBS_MISSING_DEPENDENCY: {
    title: 'Job handler dependency missing',
    hint: 'Provide the tokens the job handler depends on in the app (components or modules), or mark them optional().',
  },
})

export type JobsErrorCode = keyof typeof jobsErrors.entries
