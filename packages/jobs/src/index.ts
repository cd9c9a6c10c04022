/**
 * @plinth/jobs: background jobs with resumable progress. A durable queue on the app's database
 * (SQLite or PostgreSQL) by default, BullMQ on Redis with JOBS_URL; typed definitions, handlers
 * as components, progress and checkpoints, cancel and retry, cron repeats, health and metrics.
 */
export { BullmqQueue, type BullmqQueueOptions } from './bullmq-queue.js'
export { Jobs, backendKind, jobs, type JobsOptions } from './component.js'
export { jobStates, type BackendHooks, type BackendWorker, type ClaimedJob, type JobBackend, type JobFailure, type JobProgress, type JobState, type JobStatus, type ListQuery, type NewJob, type QueueInspection, type QueueStats, type Recorded, type StuckJob, type RunJob, type RunOutcome } from './contract.js'
export { DatabaseQueue, type DatabaseQueueOptions } from './database-queue.js'
export { job, validateInput, type Backoff, type DefinitionOptions, type EnqueueOptions, type InputIssue, type InputOf, type JobDefinition, type JobOptions, type ResultOf } from './definition.js'
export { jobsErrors, type JobsErrorCode } from './errors.js'
export { JobEvents, localJobEvents, type JobEvent, type JobEventListener, type JobEventOrigin, type JobEventSink, type JobEventType } from './events.js'
export { JobHandlers, jobHandler, type JobContext, type JobHandler, type JobHandlerSpec } from './handler.js'
export { JobQueue, type JobsSettings, type StatusOf } from './jobs.js'
export { JobRepeats, repeatJob, type JobRepeat } from './repeat.js'
export { checkCron, type CronOptions } from './schedule.js'
export { JOBS_TABLE, jobsMigrations, type JobRow, type JobTables } from './schema.js'
export { jobEtag, pollingAnswer, type PollingAnswer } from './polling.js'

// Registers the jobs' preflight checks (plinth validate) on import.
import './preflight.js'
