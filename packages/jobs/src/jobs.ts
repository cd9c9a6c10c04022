/**
 * The jobs facade an app uses: enqueue (input checked, options resolved), status, cancel, retry,
 * list, repeat on a cron expression; and, on instances that run workers, a worker per handler
 * that runs jobs through the runner, publishes events and counts them.
 */
import { describeError, type Container, type Logger, type MetricsRegistry } from '@plinth/core'
import type { BackendWorker, ClaimedJob, JobBackend, JobStatus, ListQuery, QueueStats, Recorded, RunOutcome } from './contract.js'
import { jobStates } from './contract.js'
import { resolveOptions, validateInput, type EnqueueOptions, type JobDefinition, type ResolvedJobOptions } from './definition.js'
import { jobsErrors } from './errors.js'
import { isoNow } from './iso.js'
import { localJobEvents, type JobEvent, type JobEventListener, type JobEventSink } from './events.js'
import type { JobHandler } from './handler.js'
import { JobMetrics } from './metrics.js'
import { missingDependencies, runJob } from './runner.js'
import { cronSchedule, type CronOptions } from './schedule.js'

export interface JobsSettings {
  readonly backend: JobBackend
  readonly handlers?: readonly JobHandler[]
  /** Definitions this instance enqueues by name without handling them. */
  readonly definitions?: readonly JobDefinition<any, any>[]
  /** Where handler dependencies are resolved, each run in a `job` scope. Required when there are handlers. */
  readonly container?: Container
  readonly log: Logger
  readonly events?: JobEventSink
  readonly metrics?: MetricsRegistry
  /** Run workers on this instance. Default true. */
  readonly work?: boolean
  /** At shutdown, how long active runs may go on before they are handed back. Default 8 000 ms. */
  readonly drainTimeout?: number
}

const noOptions: EnqueueOptions = Object.freeze({})

/** A job's status, typed by its definition. */
export type StatusOf<D> = D extends JobDefinition<infer I, infer R, string> ? JobStatus<I, R> : JobStatus

/**
 * The app's job queue: enqueue, follow, cancel, retry. Get it with `deps: { jobs: Jobs }`.
 *
 * @example
 * const status = await jobs.enqueue(GenerateCourse, { topic: 'volcanoes' })
 * const later = await jobs.get(status.id)
 */
export class JobQueue {
  readonly backend: JobBackend
  readonly events: JobEventSink
  readonly #handlers = new Map<string, JobHandler>()
  readonly #known = new Map<string, JobDefinition<any, any>>()
  readonly #settings: JobsSettings
  readonly #metrics: JobMetrics | undefined
  readonly #workers: BackendWorker[] = []
  readonly #schedules = new Set<() => void>()
  readonly #started = new Map<string, number>()
  readonly #defaults = new WeakMap<JobDefinition<any, any>, ResolvedJobOptions>()
  readonly #shutdown = new AbortController()
  /** What each active run does at the stop deadline. */
  readonly #interrupts = new Set<() => void>()
  #scoped = false
  #open: Promise<void> | undefined

  constructor(settings: JobsSettings) {
    this.#settings = settings
    this.backend = settings.backend
    this.events = settings.events ?? localJobEvents()
    for (const handler of settings.handlers ?? []) {
      const name = handler.definition.name
      const other = this.#handlers.get(name)
      if (other) throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `job "${name}" has two handlers, declared at ${other.site} and at ${handler.site}; keep one`)
      this.#handlers.set(name, handler)
      this.#known.set(name, handler.definition)
    }
    for (const definition of settings.definitions ?? []) this.#known.set(definition.name, definition)
    this.#metrics = settings.metrics ? new JobMetrics(settings.metrics, () => this.backend.stats()) : undefined
    this.#shutdown.signal.addEventListener('abort', () => {
      for (const interrupt of this.#interrupts) interrupt()
    })
  }

  /** Opens the backend and starts a worker per handler (unless `work` is false). */
  start(): Promise<void> {
    this.#open ??= (async () => {
      const missing = this.#settings.container ? [...this.#handlers.values()].map((h) => missingDependencies(h, this.#settings.container!)).filter((e) => e !== undefined) : []
      if (missing.length > 0) throw missing.length === 1 ? missing[0]! : jobsErrors.create('PLINTH_ERR_JOBS_MISSING_DEPENDENCY', missing.map((e) => e.message).join('\n'))
      this.#scoped = this.#settings.container?.usesScope('job') ?? false
      await this.backend.open({ recorded: (job, outcome, recorded) => this.#recorded(job, outcome, recorded), lost: (id, name, recorded) => this.#lost(id, name, recorded) })
      if (this.#settings.work === false) return
      for (const handler of this.#handlers.values()) {
        const concurrency = handler.concurrency ?? handler.definition.options.concurrency ?? 1
        this.#workers.push(this.backend.work(handler.definition.name, concurrency, (job) => this.#run(handler, job)))
      }
    })()
    return this.#open
  }

  /**
   * Stops taking jobs, lets active runs finish for `drainTimeout` (or until `signal`), hands the
   * rest back to the queue (not failed: their attempt is not counted), then closes the backend.
   */
  async stop(signal?: AbortSignal): Promise<void> {
    for (const stopSchedule of this.#schedules) stopSchedule()
    this.#schedules.clear()
    const timer = setTimeout(() => this.#shutdown.abort(), this.#settings.drainTimeout ?? 8_000)
    const onSignal = () => this.#shutdown.abort()
    signal?.addEventListener('abort', onSignal, { once: true })
    try {
      await Promise.all(this.#workers.splice(0).map((worker) => worker.stop(this.#shutdown.signal)))
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onSignal)
    }
    await this.backend.close()
  }

  /**
   * Enqueues a job: checks its input against the definition's schema (rejecting with the field
   * paths), and resolves to its status. With a `uniqueKey` already pending, resolves to that job.
   *
   * @example
   * const { id } = await jobs.enqueue(generateOutline, { topic: 'volcanoes' }, { priority: 1 })
   * const again = await jobs.enqueue('course.generate', { topic: 'tides' }) // by name: must be declared
   */
  async enqueue<D extends JobDefinition<any, any>>(definition: D, input: D extends JobDefinition<infer I, any> ? I : never, options?: EnqueueOptions): Promise<StatusOf<D>>
  async enqueue(name: string, input: unknown, options?: EnqueueOptions): Promise<JobStatus>
  async enqueue(target: JobDefinition<any, any> | string, input: unknown, options: EnqueueOptions = noOptions): Promise<JobStatus> {
    const definition = typeof target === 'string' ? this.#definitionNamed(target) : target
    const value = definition.options.input === undefined ? input : await validateInput(definition, input)
    const resolved = options === noOptions ? this.#defaultsOf(definition) : resolveOptions(definition, options)
    const { status, created } = await this.backend.add({ name: definition.name, input: value, ...resolved })
    if (created) {
      this.#metrics?.enqueued(definition.name)
      this.#publish({ type: 'enqueued', id: status.id, name: status.name, at: status.createdAt })
    }
    return status
  }

  /**
   * The status of job `id`; rejects with PLINTH_ERR_JOBS_NOT_FOUND when there is none.
   *
   * @example
   * const status = await jobs.get(id, generateOutline) // typed input and result
   * if (status.state === 'completed') console.log(status.result?.chapters)
   */
  async get<D extends JobDefinition<any, any> = JobDefinition>(id: string, _definition?: D): Promise<StatusOf<D>> {
    const status = await this.backend.get(id)
    if (!status) throw jobsErrors.create('PLINTH_ERR_JOBS_NOT_FOUND', `there is no job ${JSON.stringify(id)}`, { details: { id } })
    return status as StatusOf<D>
  }

  /**
   * Jobs in a state (or all), newest first.
   *
   * @example
   * const failed = await jobs.list({ state: 'failed', name: 'course.generate', limit: 20 })
   */
  list(query: ListQuery = {}): Promise<JobStatus[]> {
    if (query.state !== undefined && !jobStates.includes(query.state)) {
      return Promise.reject(jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `state must be one of ${jobStates.join(', ')}; got ${JSON.stringify(query.state)}`))
    }
    return this.backend.list(query)
  }

  /**
   * Cancels a queued or active job: an active run's ctx.signal aborts. Rejects with
   * PLINTH_ERR_JOBS_ALREADY_FINISHED for a finished job.
   *
   * @example
   * await jobs.cancel(id)
   */
  async cancel(id: string): Promise<JobStatus> {
    const status = await this.backend.cancel(id)
    this.#publish({ type: 'cancelled', id, name: status.name, at: isoNow() })
    return status
  }

  /**
   * Runs a failed or cancelled job again, with a fresh set of attempts; it resumes from its last
   * checkpoint.
   *
   * @example
   * await jobs.retry(id)
   */
  async retry(id: string): Promise<JobStatus> {
    const status = await this.backend.retry(id)
    this.#metrics?.retried(status.name)
    return status
  }

  /**
   * Enqueues `input` each time the cron expression fires, on every instance that runs it, yet
   * once per fire time: the job's id is made of the name and the time. Returns the function that
   * stops it; stop() stops it too. Rejects a bad expression with PLINTH_ERR_JOBS_INVALID_CRON.
   *
   * @example
   * const stopDigest = jobs.schedule(sendDigest, '0 7 * * *', { list: 'daily' }, { timezone: 'Europe/Paris' })
   */
  schedule<D extends JobDefinition<any, any>>(definition: D, cron: string, input: D extends JobDefinition<infer I, any> ? I : never, options: CronOptions & EnqueueOptions = {}): () => void {
    const stop = cronSchedule(definition.name, cron, options, async (fireTime) => {
      const value = await validateInput(definition, input)
      const resolved = resolveOptions(definition, { ...options, uniqueKey: undefined })
      const { status, created } = await this.backend.add({ name: definition.name, input: value, ...resolved, id: `${definition.name}@cron-${fireTime}` })
      if (created) {
        this.#metrics?.enqueued(definition.name)
        this.#publish({ type: 'enqueued', id: status.id, name: status.name, at: status.createdAt })
      }
    }, (error) => this.#settings.log.error({ err: error, job: definition.name, cron }, `could not enqueue the repeating job ${definition.name}`))
    this.#schedules.add(stop)
    return () => {
      stop()
      this.#schedules.delete(stop)
    }
  }

  /** The job names this instance runs a worker for once started: none when `work` is false. */
  get workerNames(): string[] {
    return this.#settings.work === false ? [] : [...this.#handlers.keys()]
  }

  /** Every job name this instance knows: those it handles and those it only enqueues. */
  get knownNames(): string[] {
    return [...this.#known.keys()]
  }

  /** Queue depth per state and the oldest waiting job's age. */
  stats(): Promise<QueueStats> {
    return this.backend.stats()
  }

  /**
   * Calls `listener` for each job event this instance hears (with a bus sink, other instances'
   * too: `origin.local` tells them apart); returns the function that stops it.
   *
   * @example
   * const stop = jobs.subscribe((event, origin) => { if (event.id === id) console.log(event.type, origin.local ? 'here' : origin.instance) })
   */
  subscribe(listener: JobEventListener): () => void {
    return this.events.subscribe(listener)
  }

  /** The options of an enqueue that gives none: the same for every enqueue of a definition. */
  #defaultsOf(definition: JobDefinition<any, any>): ResolvedJobOptions {
    let resolved = this.#defaults.get(definition)
    if (!resolved) this.#defaults.set(definition, (resolved = resolveOptions(definition)))
    return resolved
  }

  #definitionNamed(name: string): JobDefinition<any, any> {
    const definition = this.#known.get(name)
    if (!definition) {
      const known = [...this.#known.keys()].sort()
      throw jobsErrors.create('PLINTH_ERR_JOBS_UNKNOWN_JOB', `there is no job named ${JSON.stringify(name)}; known jobs: ${known.length > 0 ? known.join(', ') : 'none'}`, { details: { name, known } })
    }
    return definition
  }

  async #run(handler: JobHandler, job: ClaimedJob): Promise<RunOutcome> {
    this.#started.set(job.id, performance.now())
    this.#metrics?.started(job.name)
    this.#publish({ type: 'started', id: job.id, name: job.name, attempt: job.attempt, at: isoNow() })
    const container = this.#settings.container
    if (!container) return { kind: 'failed', error: { message: 'the jobs component has no container to resolve handler dependencies in', code: 'PLINTH_ERR_JOBS_MISSING_DEPENDENCY' }, final: false }
    return runJob(handler, job, {
      container,
      scoped: this.#scoped,
      log: this.#settings.log,
      onShutdown: (interrupt) => {
        if (this.#shutdown.signal.aborted) interrupt()
        this.#interrupts.add(interrupt)
        return () => this.#interrupts.delete(interrupt)
      },
      progressed: (claimed, progress) => {
        this.#metrics?.progressed(claimed.name)
        this.#publish({ type: 'progress', id: claimed.id, name: claimed.name, progress, at: isoNow() })
      },
    })
  }

  #recorded(job: ClaimedJob, outcome: RunOutcome, recorded: Recorded): void {
    const began = this.#started.get(job.id)
    this.#started.delete(job.id)
    if (began !== undefined) this.#metrics?.finished(job.name, recorded, (performance.now() - began) / 1000)
    const at = isoNow()
    if (recorded === 'completed' && outcome.kind === 'completed') this.#publish({ type: 'completed', id: job.id, name: job.name, result: outcome.result, at })
    else if ((recorded === 'failed' || recorded === 'retrying') && outcome.kind === 'failed') {
      this.#publish({ type: 'failed', id: job.id, name: job.name, error: outcome.error, attempt: job.attempt, willRetry: recorded === 'retrying', at })
    }
  }

  #lost(id: string, name: string, recorded: 'retrying' | 'failed'): void {
    this.#metrics?.finished(name, recorded, undefined)
    this.#publish({
      type: 'failed',
      id,
      name,
      error: { message: `the worker running job ${id} stopped before finishing it`, code: 'PLINTH_ERR_JOBS_WORKER_LOST' },
      attempt: 0,
      willRetry: recorded === 'retrying',
      at: isoNow(),
    })
  }

  /** Job events not published since publishing last worked: an outage of the bus is one warning, not one per progress event. */
  #unpublishedCount = 0

  #unpublished(event: JobEvent, error: unknown): void {
    const reason = describeError(error)
    const fields = { reason, event: event.type, jobId: event.id }
    if (this.#unpublishedCount++ === 0) this.#settings.log.warn(fields, `could not publish the job event ${event.type} of job ${event.id} (${reason}); the next failures are logged at debug until publishing works again`)
    else this.#settings.log.debug(fields, `could not publish the job event ${event.type} of job ${event.id} (${reason})`)
  }

  #published(): void {
    if (this.#unpublishedCount === 0) return
    this.#settings.log.info({ lost: this.#unpublishedCount }, `job events publish again; ${this.#unpublishedCount} could not be published meanwhile`)
    this.#unpublishedCount = 0
  }

  #publish(event: JobEvent): void {
    try {
      const published = this.events.publish(event)
      if (published) published.then(() => this.#published(), (error: unknown) => this.#unpublished(event, error))
      else this.#published()
    } catch (error) {
      this.#unpublished(event, error)
    }
  }
}
