/**
 * The contract every queue backend fulfils (the database queue, BullMQ), and the job status
 * every protocol shows. Leaves only: nothing of the package is imported here but types.
 */
import type { Backoff } from './definition.js'

/** Where a job is: `queued` (waiting or delayed), `active`, or one of the three final states. */
export type JobState = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled'

export const jobStates: readonly JobState[] = ['queued', 'active', 'completed', 'failed', 'cancelled']

/** The last progress a handler reported. */
export interface JobProgress {
  /** 0 to 100. */
  readonly percent: number
  readonly message?: string
  readonly data?: unknown
}

/** Why a job (or its last attempt) failed. */
export interface JobFailure {
  readonly message: string
  /** A PLINTH_ERR_* code when the failure has one (timeout, worker lost, cancelled). */
  readonly code?: string
}

/** A job as status queries, REST, WebSocket and GraphQL show it. */
export interface JobStatus<I = unknown, R = unknown> {
  readonly id: string
  readonly name: string
  readonly state: JobState
  readonly input: I
  readonly progress?: JobProgress
  /** The cursor of the last ctx.checkpoint(): where a retried or taken-over run resumes. */
  readonly checkpoint?: unknown
  /** Set once completed. */
  readonly result?: R
  /** Set once failed, and after a failed attempt that will be retried. */
  readonly error?: JobFailure
  /** Runs started so far, the current one included. */
  readonly attempts: number
  readonly maxAttempts: number
  readonly priority: number
  /** ISO 8601 times. */
  readonly createdAt: string
  /** When it may run (after its delay or backoff). */
  readonly runAt: string
  readonly startedAt?: string
  readonly finishedAt?: string
}

/** A job to add, its options resolved. */
export interface NewJob {
  readonly name: string
  readonly input: unknown
  readonly attempts: number
  readonly backoff: Backoff
  readonly timeout: number | undefined
  readonly priority: number
  readonly delay: number
  readonly uniqueKey: string | undefined
  /** A fixed id (repeating jobs use one per fire time, so that instances do not add it twice). */
  readonly id?: string
}

/** What listing takes. */
export interface ListQuery {
  readonly state?: JobState
  readonly name?: string
  /** Default 100, at most 1000. */
  readonly limit?: number
}

/** A job a worker took, as the runner needs it. */
export interface ClaimedJob {
  readonly id: string
  readonly name: string
  readonly input: unknown
  /** 1 for the first run. */
  readonly attempt: number
  readonly maxAttempts: number
  readonly timeout: number | undefined
  /** The cursor of the last checkpoint, or undefined. */
  readonly lastCheckpoint: unknown
  /**
   * Calls `listener` (once) when the job is cancelled (a PLINTH_ERR_JOBS_CANCELLED error) or its
   * lease is lost (another worker may have it); returns the function that stops listening. A plain
   * callback rather than an AbortSignal: it costs nothing per run until something happens.
   */
  onInterrupt(listener: (reason: Error) => void): () => void
  progress(progress: JobProgress): Promise<void>
  checkpoint(cursor: unknown): Promise<void>
}

/** How a run ended, as the runner tells the backend. */
export type RunOutcome =
  | { readonly kind: 'completed'; readonly result: unknown }
  /** `final`: no retry whatever attempts remain (cancelled, or an input the handler refused for good). */
  | { readonly kind: 'failed'; readonly error: JobFailure; readonly final: boolean }
  /** Shutdown: back to the queue, the attempt not counted. */
  | { readonly kind: 'handed-back' }
  /** Cancelled while running: the backend records `cancelled`. */
  | { readonly kind: 'cancelled' }

/** What the backend says happened once it recorded an outcome. */
export type Recorded = 'completed' | 'retrying' | 'failed' | 'handed-back' | 'cancelled' | 'lost'

/** The work loop of one job name on one instance. */
export interface BackendWorker {
  /** Stops taking jobs; resolves once no run of this worker is active (each is handed back when `signal` fires). */
  stop(signal: AbortSignal): Promise<void>
}

/** Called by a backend worker for each job it took; resolves to how the run ended. */
export type RunJob = (job: ClaimedJob) => Promise<RunOutcome>

/** A backend reports what happened to jobs through these, so the facade can publish events and count. */
export interface BackendHooks {
  /** An outcome was recorded for a run. */
  recorded(job: ClaimedJob, outcome: RunOutcome, recorded: Recorded): void
  /** A job whose worker was lost was found and put back (or failed when no attempt remained). */
  lost(id: string, name: string, recorded: 'retrying' | 'failed'): void
}

/** Figures for health and metrics. */
export interface QueueStats {
  readonly depth: Readonly<Record<JobState, number>>
  /** Milliseconds the oldest job that may run now has waited; 0 when none waits. */
  readonly oldestWaitingAge: number
}

/** An active job whose lease ran out and that no worker took back: nothing is running it, and nothing will. */
export interface StuckJob {
  readonly id: string
  readonly name: string
  /** Milliseconds since its run started. */
  readonly activeFor: number
  /** The worker that held it, when the backend records it. */
  readonly worker?: string
}

/** What `plinth validate` reads of a queue: live workers as the backend records them, and stuck jobs. */
export interface QueueInspection {
  /**
   * Workers connected now, per job name, where the backend can tell: BullMQ lists every worker's
   * connection; the database queue records only the workers holding a job (an idle one leaves
   * no trace), so a name without a count there means "not known", not "none".
   */
  readonly workers: Readonly<Record<string, number>>
  /** Whether `workers` counts idle workers too. */
  readonly countsIdleWorkers: boolean
  readonly stuck: readonly StuckJob[]
  /**
   * The database queue's migrations not applied yet, which start-up applies: its tables are not
   * there, so there is nothing to read (no worker, no job stuck) until the first start.
   */
  readonly pendingAtStart?: readonly string[]
}

/** A queue backend: where jobs are stored and how workers take them. */
export interface JobBackend {
  readonly kind: 'database' | 'bullmq'
  /** Connects and prepares; called once at start. */
  open(hooks: BackendHooks): Promise<void>
  /** Adds a job; with a uniqueKey or id that is already pending, returns that one with `created: false`. */
  add(job: NewJob): Promise<{ readonly status: JobStatus; readonly created: boolean }>
  get(id: string): Promise<JobStatus | undefined>
  list(query: ListQuery): Promise<JobStatus[]>
  /** Cancels a queued or active job (an active one's signal aborts); throws when it is finished or unknown. */
  cancel(id: string): Promise<JobStatus>
  /** Puts a failed or cancelled job back in the queue with a fresh set of attempts; the status says its id (BullMQ gives a job cancelled while queued a new one). */
  retry(id: string): Promise<JobStatus>
  /** Starts taking jobs of `name`, at most `concurrency` at once. */
  work(name: string, concurrency: number, run: RunJob): BackendWorker
  stats(): Promise<QueueStats>
  /** Live workers of these job names and stuck jobs, without opening the queue for work; throws when the queue cannot be reached. */
  inspect(names: readonly string[]): Promise<QueueInspection>
  /** Closes connections; workers must be stopped first. */
  close(): Promise<void>
}
