/**
 * The BullMQ backend (JOBS_URL=redis://...): a BullMQ queue per job name under one prefix, a
 * BullMQ worker per handler. BullMQ keeps what it does well (locks, stalled-job recovery,
 * retries with backoff, priorities, delays, deduplication); this file adds what it lacks:
 * checkpoints kept with the job's data, a `cancelled` state, and cancellation across instances
 * over Redis pub/sub.
 */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type * as BullMQ from 'bullmq'
import type { Job, JobsOptions, JobType, Queue, Worker } from 'bullmq'
import type * as IORedis from 'ioredis'
import type { Redis } from 'ioredis'
import type { BackendHooks, BackendWorker, ClaimedJob, JobBackend, JobFailure, JobProgress, JobState, JobStatus, ListQuery, NewJob, QueueInspection, QueueStats, RunJob, RunOutcome } from './contract.js'
import { jobStates } from './contract.js'
import type { Backoff } from './definition.js'
import { jobsErrors } from './errors.js'
import { inspectBullmqQueue } from './inspection.js'
import { isoAt, isoNow } from './iso.js'

export interface BullmqQueueOptions {
  /** redis://[user:password@]host:port[/db] or rediss://... */
  url: string
  /** Key prefix of every queue. Default 'plinth'. */
  prefix?: string
  /** BullMQ's lockDuration and stalledInterval: a killed worker's job runs again after about twice this. Default 30 000 ms. */
  leaseDuration?: number
  /** How many times a job may be taken over from a lost worker before it fails. Default 1 (BullMQ's). */
  maxStalledCount?: number
}

/** What a job carries in BullMQ's data besides its input. */
interface JobData {
  input: unknown
  timeout?: number
  checkpoint?: unknown
  /** Written by earlier versions; the backoff now lives in BullMQ's own options only. */
  backoff?: Backoff
  nonce?: string
}

// What a job that runs once carries as its backoff when it comes back: it is never used.
const onlyAttempt: Backoff = { type: 'exponential', delay: 1000 }

/** What a cancelled job leaves behind when BullMQ no longer holds it. */
interface CancelRecord {
  at: number
  status?: JobStatus
  job?: NewJob
}

// BullMQ and ioredis are loaded when this backend is first used, not at import: an app on its
// database queue does not pay for loading them at start (about 400 ms of CPU). Both are CommonJS.
const load = createRequire(import.meta.url)
let bullmqModule: typeof BullMQ | undefined
const bullmq = () => (bullmqModule ??= load('bullmq') as typeof BullMQ)

const queuedTypes: JobType[] = ['waiting', 'delayed', 'prioritized']
const iso = (ms: number | undefined) => (ms === undefined ? undefined : isoAt(ms))
const codePattern = /^\[(PLINTH_ERR_[A-Z0-9_]+)\] ([\s\S]*)$/

/** A failure as BullMQ keeps it: one string; the code travels in brackets before the message. */
const encodeFailure = (failure: JobFailure) => (failure.code ? `[${failure.code}] ${failure.message}` : failure.message)
function decodeFailure(reason: string): JobFailure {
  if (/stalled more than allowable limit/.test(reason)) {
    return { message: `the worker running the job stopped (killed, crashed or exited) before finishing it, more often than allowed: ${reason}`, code: 'PLINTH_ERR_JOBS_WORKER_LOST' }
  }
  const match = codePattern.exec(reason)
  return match ? { message: match[2]!, code: match[1]! } : { message: reason }
}

/** The queue (job name) a job id belongs to: ids are `<name>@<BullMQ's id>`. */
function nameOf(id: string): string | undefined {
  const at = id.lastIndexOf('@')
  return at > 0 ? id.slice(0, at) : undefined
}

/** BullMQ's own id of a job: what follows the name. */
const bullIdOf = (id: string) => id.slice(id.lastIndexOf('@') + 1)
/** The id this package shows for a BullMQ job: its queue's name, `@`, BullMQ's id (its counter, unless fixed). */
const publicId = (job: Job) => `${job.name}@${job.id!}`

/** Quits a connection that is up; one that is not (Redis unreachable, retrying) is dropped, since QUIT would wait for it. */
async function end(redis: Redis | undefined): Promise<void> {
  if (redis?.status === 'ready') await redis.quit().catch(() => undefined)
  else redis?.disconnect()
}

/**
 * Jobs on Redis through BullMQ.
 *
 * @example
 * const backend = new BullmqQueue({ url: 'redis://127.0.0.1:6379', prefix: 'shop' }) // what jobs() builds for JOBS_URL=redis://...
 */
export class BullmqQueue implements JobBackend {
  readonly kind = 'bullmq' as const
  readonly #options: Required<Omit<BullmqQueueOptions, 'url'>> & { url: string }
  readonly #queues = new Map<string, Queue>()
  readonly #workers = new Set<Worker>()
  /** Queue names recorded in Redis (or being recorded): one SADD per name, however many adds race. */
  readonly #registered = new Map<string, Promise<unknown>>()
  readonly #runs = new Map<string, { claimed: ClaimedJob; outcome?: RunOutcome; interrupt?: (reason: Error) => void }>()
  #connection: Redis | undefined
  #subscriber: Redis | undefined
  #hooks: BackendHooks | undefined

  constructor(options: BullmqQueueOptions) {
    if (!/^rediss?:\/\//.test(options.url)) throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_URL', `JOBS_URL ${JSON.stringify(options.url.replace(/:[^:@/]*@/, ':***@'))} is not a redis:// or rediss:// URL`)
    this.#options = { prefix: 'plinth', leaseDuration: 30_000, maxStalledCount: 1, ...options }
  }

  get #redis(): Redis {
    this.#connection ??= new (load('ioredis') as typeof IORedis).Redis(this.#options.url, { maxRetriesPerRequest: null, lazyConnect: false })
    return this.#connection
  }

  #key(suffix: string): string {
    return `${this.#options.prefix}:plinth:${suffix}`
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name)
    if (!queue) {
      queue = new (bullmq().Queue)(name, { connection: this.#redis, prefix: this.#options.prefix })
      this.#queues.set(name, queue)
    }
    return queue
  }

  async #names(query?: string): Promise<string[]> {
    return query ? [query] : (await this.#redis.smembers(this.#key('queues'))).sort()
  }

  async open(hooks: BackendHooks): Promise<void> {
    this.#hooks = hooks
    try {
      await this.#redis.ping()
    } catch (error) {
      throw jobsErrors.create('PLINTH_ERR_JOBS_UNAVAILABLE', `Redis at ${this.#options.url.replace(/:[^:@/]*@/, ':***@')} does not answer: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }

  async add(job: NewJob): Promise<{ status: JobStatus; created: boolean }> {
    // BullMQ numbers jobs itself (one INCR); only a fixed id (a repeat's fire time) is passed on.
    const fixed = job.id === undefined ? undefined : bullIdOf(job.id)
    let registered = this.#registered.get(job.name)
    if (registered === undefined) {
      this.#registered.set(job.name, (registered = this.#redis.sadd(this.#key('queues'), job.name)))
      registered.catch(() => this.#registered.delete(job.name))
    }
    await registered
    // A job that may meet an existing one (unique key, fixed id) carries a nonce: whether the job BullMQ kept has it says whether this add created it.
    const nonce = job.uniqueKey !== undefined || fixed !== undefined ? randomUUID() : undefined
    // Only what differs from BullMQ's defaults: each field is packed on add and read back on every
    // take and completion, which on an empty handler is most of the client's work.
    const data: JobData = { input: job.input, ...(job.timeout === undefined ? {} : { timeout: job.timeout }), ...(nonce === undefined ? {} : { nonce }) }
    const options: JobsOptions = {
      ...(fixed === undefined ? {} : { jobId: fixed }),
      ...(job.attempts > 1 ? { attempts: job.attempts, backoff: job.backoff } : {}),
      ...(job.priority > 0 ? { priority: job.priority } : {}),
      ...(job.delay > 0 ? { delay: job.delay } : {}),
      ...(job.uniqueKey === undefined ? {} : { deduplication: { id: `${job.name}:${job.uniqueKey}` } }),
    }
    const added = await this.#queue(job.name).add(job.name, data, options)
    const id = publicId(added)
    if (nonce !== undefined) {
      // Deduplicated (or a fixed id already there): BullMQ answers with the id of the job it kept.
      const kept = await bullmq().Job.fromId<JobData>(this.#queue(job.name), added.id!)
      if (kept && kept.data.nonce !== nonce) {
        const existing = await this.get(id)
        if (existing) return { status: existing, created: false }
      }
    }
    const now = added.timestamp
    const createdAt = iso(now)!
    return {
      status: { id, name: job.name, state: 'queued', input: job.input, attempts: 0, maxAttempts: job.attempts, priority: job.priority, createdAt, runAt: job.delay > 0 ? iso(now + job.delay)! : createdAt },
      created: true,
    }
  }

  async get(id: string): Promise<JobStatus | undefined> {
    const name = nameOf(id)
    if (!name) return undefined
    const queue = this.#queue(name)
    // The state first, then the job: a job that finishes in between shows its previous state with
    // its final fields, never a final state without them (no failure without its reason).
    const [state, cancelled] = await Promise.all([queue.getJobState(bullIdOf(id)), this.#redis.hget(this.#key('cancelled'), id)])
    const job = await bullmq().Job.fromId<JobData>(queue, bullIdOf(id))
    const record = cancelled === null ? undefined : (JSON.parse(cancelled) as CancelRecord)
    if (!job) return record?.status
    return this.#statusOf(job, state, record)
  }

  #statusOf(job: Job<JobData>, bullState: string, cancelled: CancelRecord | undefined): JobStatus {
    const state: JobState =
      bullState === 'active' ? 'active' : bullState === 'completed' ? 'completed' : bullState === 'failed' ? (cancelled ? 'cancelled' : 'failed') : cancelled ? 'cancelled' : 'queued'
    const progress = typeof job.progress === 'object' && job.progress !== null && 'percent' in job.progress ? (job.progress as unknown as JobProgress) : undefined
    const finishedOn = state === 'cancelled' ? (cancelled?.at ?? job.finishedOn) : job.finishedOn
    return {
      id: publicId(job),
      name: job.name,
      state,
      input: job.data.input,
      ...(progress ? { progress } : {}),
      ...(job.data.checkpoint === undefined ? {} : { checkpoint: job.data.checkpoint }),
      ...(state === 'completed' ? { result: job.returnvalue as unknown } : {}),
      ...(job.failedReason && state !== 'cancelled' ? { error: decodeFailure(job.failedReason) } : {}),
      attempts: job.attemptsStarted,
      maxAttempts: job.opts.attempts ?? 1,
      priority: job.opts.priority ?? 0,
      createdAt: iso(job.timestamp)!,
      runAt: iso(job.timestamp + (job.opts.delay ?? 0))!,
      ...(job.processedOn ? { startedAt: iso(job.processedOn)! } : {}),
      ...(finishedOn && state !== 'queued' && state !== 'active' ? { finishedAt: iso(finishedOn)! } : {}),
    }
  }

  async list(query: ListQuery): Promise<JobStatus[]> {
    const limit = Math.min(query.limit ?? 100, 1000)
    const cancelledRecords = await this.#redis.hgetall(this.#key('cancelled'))
    const records = new Map(Object.entries(cancelledRecords).map(([id, text]) => [id, JSON.parse(text) as CancelRecord]))
    const out: JobStatus[] = []
    for (const name of await this.#names(query.name)) {
      const queue = this.#queue(name)
      for (const state of query.state ? [query.state] : jobStates) {
        if (state === 'cancelled') {
          for (const [id, record] of records) {
            if (nameOf(id) !== name) continue
            const status = record.status ?? (await this.get(id))
            if (status) out.push(status)
          }
          continue
        }
        const types: JobType[] = state === 'queued' ? queuedTypes : [state]
        const jobs = (await queue.getJobs(types, 0, limit - 1)) as Job<JobData>[]
        const bullState = state === 'queued' ? 'waiting' : state
        for (const job of jobs) {
          const status = this.#statusOf(job, bullState, records.get(publicId(job)))
          if (status.state === state) out.push(status)
        }
      }
    }
    // A job that moves on while the states are read one after another is seen twice: keep its later state.
    const unique = [...new Map(out.map((status) => [status.id, status])).values()]
    return unique.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1)).slice(0, limit)
  }

  async cancel(id: string): Promise<JobStatus> {
    const status = await this.get(id)
    if (!status) throw jobsErrors.create('PLINTH_ERR_JOBS_NOT_FOUND', `there is no job ${JSON.stringify(id)}`, { details: { id } })
    if (status.state !== 'queued' && status.state !== 'active') {
      throw jobsErrors.create('PLINTH_ERR_JOBS_ALREADY_FINISHED', `job ${id} (${status.name}) is already ${status.state}; it cannot be cancelled`, { details: { id, state: status.state } })
    }
    const at = Date.now()
    const cancelled: JobStatus = { ...status, state: 'cancelled', finishedAt: iso(at)! }
    const job = (await bullmq().Job.fromId<JobData>(this.#queue(status.name), bullIdOf(id)))!
    if (status.state === 'queued') {
      const removed = await job.remove().then(() => true, () => false)
      if (removed) {
        const again: NewJob = { name: status.name, input: status.input, attempts: job.opts.attempts ?? 1, backoff: (job.opts.backoff as Backoff | undefined) ?? job.data.backoff ?? onlyAttempt, timeout: job.data.timeout, priority: job.opts.priority ?? 0, delay: 0, uniqueKey: undefined }
        await this.#redis.hset(this.#key('cancelled'), id, JSON.stringify({ at, status: cancelled, job: again } satisfies CancelRecord))
        return cancelled
      }
    }
    // Active (or it just became so): mark it, and tell every instance's workers to abort it.
    await this.#redis.hset(this.#key('cancelled'), id, JSON.stringify({ at } satisfies CancelRecord))
    this.#abortLocally(id)
    await this.#redis.publish(this.#key('cancel'), id)
    return cancelled
  }

  #abortLocally(id: string): void {
    const run = this.#runs.get(id)
    const listener = run?.interrupt
    if (!run || !listener) return
    run.interrupt = undefined
    listener(jobsErrors.create('PLINTH_ERR_JOBS_CANCELLED', `job ${id} was cancelled`))
  }

  async retry(id: string): Promise<JobStatus> {
    const status = await this.get(id)
    if (!status) throw jobsErrors.create('PLINTH_ERR_JOBS_NOT_FOUND', `there is no job ${JSON.stringify(id)}`, { details: { id } })
    if (status.state !== 'failed' && status.state !== 'cancelled') {
      throw jobsErrors.create('PLINTH_ERR_JOBS_NOT_RETRYABLE', `job ${id} (${status.name}) is ${status.state}; only a failed or cancelled job can be retried`, { details: { id, state: status.state } })
    }
    const raw = await this.#redis.hget(this.#key('cancelled'), id)
    const record = raw === null ? undefined : (JSON.parse(raw) as CancelRecord)
    await this.#redis.hdel(this.#key('cancelled'), id)
    const job = await bullmq().Job.fromId<JobData>(this.#queue(status.name), bullIdOf(id))
    if (job) await job.retry('failed', { resetAttemptsMade: true })
    // Cancelled while queued, it was removed from BullMQ, which numbers its jobs: it comes back under a new id.
    else if (record?.job) return (await this.add(record.job)).status
    // Not read back: a worker may already be running it.
    const { finishedAt: _finished, result: _result, ...rest } = status
    return { ...rest, state: 'queued', runAt: isoNow() }
  }

  work(name: string, concurrency: number, run: RunJob): BackendWorker {
    const lease = this.#options.leaseDuration
    // Two parameters: BullMQ then makes no AbortController per job; cancellation comes through #abortLocally.
    const worker: Worker<JobData> = new (bullmq().Worker)(name, (job, token) => this.#process(job, token, run), {
      connection: this.#redis,
      prefix: this.#options.prefix,
      concurrency,
      lockDuration: lease,
      stalledInterval: lease,
      maxStalledCount: this.#options.maxStalledCount,
      autorun: true,
    })
    worker.on('error', () => undefined)
    worker.on('completed', (job) => this.#settled(publicId(job), 'completed'))
    worker.on('failed', (job) => {
      if (!job) return
      const willRetry = job.attemptsMade < (job.opts.attempts ?? 1) && !(job.finishedOn && job.failedReason?.startsWith('[PLINTH_ERR_JOBS_CANCELLED]'))
      this.#settled(publicId(job), job.finishedOn ? 'failed' : willRetry ? 'retrying' : 'failed')
    })
    this.#workers.add(worker)
    void this.#listenForCancels()
    return {
      stop: async () => {
        await worker.close()
        this.#workers.delete(worker)
      },
    }
  }

  #settled(id: string, recorded: 'completed' | 'failed' | 'retrying'): void {
    const run = this.#runs.get(id)
    this.#runs.delete(id)
    if (run?.outcome) this.#hooks?.recorded(run.claimed, run.outcome, run.outcome.kind === 'cancelled' ? 'cancelled' : recorded)
  }

  async #listenForCancels(): Promise<void> {
    if (this.#subscriber) return
    this.#subscriber = this.#redis.duplicate()
    this.#subscriber.on('error', () => undefined)
    this.#subscriber.on('message', (_channel: string, id: string) => this.#abortLocally(id))
    await this.#subscriber.subscribe(this.#key('cancel')).catch(() => undefined)
  }

  async #process(job: Job<JobData>, token: string | undefined, run: RunJob): Promise<unknown> {
    const entry: { claimed: ClaimedJob | undefined; outcome?: RunOutcome; interrupt?: (reason: Error) => void } = { claimed: undefined }
    const claimed: ClaimedJob = {
      id: publicId(job),
      name: job.name,
      input: job.data.input,
      attempt: job.attemptsStarted,
      maxAttempts: job.opts.attempts ?? 1,
      timeout: job.data.timeout,
      lastCheckpoint: job.data.checkpoint,
      onInterrupt: (listener) => {
        entry.interrupt = listener
        return () => (entry.interrupt = undefined)
      },
      progress: (progress) => job.updateProgress(progress),
      checkpoint: (cursor) => job.updateData({ ...job.data, checkpoint: cursor }),
    }
    entry.claimed = claimed
    this.#runs.set(claimed.id, entry as { claimed: ClaimedJob })
    const outcome = await run(claimed)
    entry.outcome = outcome
    switch (outcome.kind) {
      case 'completed':
        return outcome.result
      case 'failed':
        throw outcome.final ? new (bullmq().UnrecoverableError)(encodeFailure(outcome.error)) : new Error(encodeFailure(outcome.error))
      case 'cancelled':
        throw new (bullmq().UnrecoverableError)(encodeFailure({ message: `job ${claimed.id} was cancelled`, code: 'PLINTH_ERR_JOBS_CANCELLED' }))
      case 'handed-back':
        this.#runs.delete(claimed.id)
        await job.moveToWait(token)
        this.#hooks?.recorded(claimed, outcome, 'handed-back')
        throw new (bullmq().WaitingError)()
    }
  }

  async stats(): Promise<QueueStats> {
    const depth = Object.fromEntries(jobStates.map((state) => [state, 0])) as Record<JobState, number>
    let oldest: number | undefined
    for (const name of await this.#names()) {
      const queue = this.#queue(name)
      const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed')
      depth.queued += (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0)
      depth.active += counts.active ?? 0
      depth.completed += counts.completed ?? 0
      depth.failed += counts.failed ?? 0
      for (const type of ['waiting', 'prioritized'] as const) {
        const [first] = (await queue.getJobs([type], 0, 0, true)) as Job[]
        if (first && (oldest === undefined || first.timestamp < oldest)) oldest = first.timestamp
      }
    }
    depth.cancelled = await this.#redis.hlen(this.#key('cancelled'))
    return { depth, oldestWaitingAge: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) }
  }

  async inspect(names: readonly string[]): Promise<QueueInspection> {
    const all = async () => [...new Set([...names, ...(await this.#names())])]
    try {
      return await inspectBullmqQueue(this.#redis, (name) => this.#queue(name), (name, id) => `${this.#options.prefix}:${name}:${id}:lock`, this.#options.leaseDuration, names, all)
    } catch (error) {
      throw jobsErrors.create('PLINTH_ERR_JOBS_UNAVAILABLE', `Redis at ${this.#options.url.replace(/:[^:@/]*@/, ':***@')} does not answer: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#workers].map((worker) => worker.close()))
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()))
    this.#queues.clear()
    await Promise.all([this.#subscriber, this.#connection].map(end))
    this.#subscriber = undefined
    this.#connection = undefined
  }

  /** Removes every key of this prefix: for tests and benchmarks that own their prefix. */
  async obliterate(): Promise<void> {
    let cursor = '0'
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${this.#options.prefix}:*`, 'COUNT', 500)
      if (keys.length > 0) await this.#redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  }
}
