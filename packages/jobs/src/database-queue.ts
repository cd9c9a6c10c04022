/**
 * The durable queue on the app's database (SQLite or PostgreSQL, through @plinth/db). Workers
 * take jobs with one UPDATE ... RETURNING (on PostgreSQL over a SELECT ... FOR UPDATE SKIP
 * LOCKED, so instances sharing the database never take the same job), hold them under a lease
 * they renew, and record the outcome only while they still hold it. A job whose lease expires
 * (its worker was killed) goes back to the queue with its attempt counted, or fails when none
 * remains; a completed job is never taken again.
 */
import { hostname } from 'node:os'
import type { Database } from '@plinth/db'
import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import type { BackendHooks, BackendWorker, ClaimedJob, JobBackend, JobFailure, JobState, JobStatus, ListQuery, NewJob, QueueInspection, QueueStats, Recorded, RunJob, RunOutcome } from './contract.js'
import { jobStates } from './contract.js'
import { backoffFor, type Backoff } from './definition.js'
import { jobsErrors } from './errors.js'
import { inspectDatabaseQueue } from './inspection.js'
import { isoAt } from './iso.js'
import { newJobId } from './ids.js'
import { JOBS_TABLE, type JobRow, type JobTables } from './schema.js'

export interface DatabaseQueueOptions {
  /** How long a worker holds a job without renewing: a killed worker's job runs again after it. Default 30 000 ms. */
  leaseDuration?: number
  /** How often an idle worker looks for jobs another instance queued. Default 500 ms. */
  pollInterval?: number
}

const toTime = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value))
const iso = isoAt
const parse = (text: string | null): unknown => (text === null ? undefined : JSON.parse(text))

function statusOf(row: JobRow): JobStatus {
  const startedAt = toTime(row.started_at)
  const finishedAt = toTime(row.finished_at)
  return {
    id: row.id,
    name: row.name,
    state: row.state as JobState,
    input: parse(row.input),
    ...(row.progress === null ? {} : { progress: parse(row.progress) as JobStatus['progress'] }),
    ...(row.checkpoint === null ? {} : { checkpoint: parse(row.checkpoint) }),
    ...(row.result === null ? {} : { result: parse(row.result) }),
    ...(row.error === null ? {} : { error: parse(row.error) as JobFailure }),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    createdAt: iso(Number(row.created_at)),
    runAt: iso(Number(row.run_at)),
    ...(startedAt === undefined ? {} : { startedAt: iso(startedAt) }),
    ...(finishedAt === undefined ? {} : { finishedAt: iso(finishedAt) }),
  }
}

interface ActiveRun {
  /** Set while the runner listens; called once with why the run must stop. */
  interrupt: ((reason: Error) => void) | undefined
  /** Why it was interrupted before anyone listened. */
  pending: Error | undefined
}

function interrupt(run: ActiveRun | undefined, reason: Error): void {
  if (!run) return
  if (run.interrupt) {
    const listener = run.interrupt
    run.interrupt = undefined
    listener(reason)
  } else run.pending ??= reason
}

/**
 * The queue on a `Database`.
 *
 * @example
 * const backend = new DatabaseQueue(db) // what jobs() builds on the app's Database
 */
export class DatabaseQueue implements JobBackend {
  readonly kind = 'database' as const
  readonly #db: Database
  readonly #lease: number
  readonly #poll: number
  /** This instance, as it signs the jobs it holds. */
  readonly #me = `${hostname()}:${process.pid}:${newJobId().slice(-13)}`
  readonly #active = new Map<string, ActiveRun>()
  readonly #wakers = new Map<string, Set<() => void>>()
  #hooks: BackendHooks | undefined
  #maintenance: NodeJS.Timeout | undefined
  #workers = 0

  constructor(db: Database, options: DatabaseQueueOptions = {}) {
    this.#db = db
    this.#lease = options.leaseDuration ?? 30_000
    this.#poll = options.pollInterval ?? 500
  }

  get #k(): Kysely<JobTables> {
    return this.#db.typed<JobTables>()
  }

  /** Whether the queue may start without its database (SKIP_DB_INIT): workers then keep trying, and health says degraded. */
  get optional(): boolean {
    return this.#db.optional
  }

  async open(hooks: BackendHooks): Promise<void> {
    this.#hooks = hooks
    try {
      await this.#db.whenReady()
    } catch (error) {
      // An optional database that is down: start anyway; workers take jobs once it answers.
      if (this.#db.optional) return
      throw error
    }
    try {
      await this.#k.selectFrom(JOBS_TABLE).select('id').limit(1).execute()
    } catch (error) {
      throw jobsErrors.create('PLINTH_ERR_JOBS_UNAVAILABLE', `the job table ${JOBS_TABLE} cannot be read on ${this.#db.url}; add jobsMigrations to the app and apply them (DATABASE_MIGRATE=true or plinth migrate up)`, { cause: error })
    }
  }

  async add(job: NewJob): Promise<{ status: JobStatus; created: boolean }> {
    const now = Date.now()
    const row: JobRow = {
      id: job.id ?? newJobId(),
      name: job.name,
      state: 'queued',
      input: JSON.stringify(job.input ?? null),
      priority: job.priority,
      run_at: now + job.delay,
      attempts: 0,
      max_attempts: job.attempts,
      budget: job.attempts,
      backoff: JSON.stringify(job.backoff),
      timeout: job.timeout ?? null,
      unique_key: job.uniqueKey ?? null,
      progress: null,
      checkpoint: null,
      result: null,
      error: null,
      lease_until: null,
      worker: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      updated_at: now,
    }
    for (let tries = 0; tries < 3; tries++) {
      const inserted = await this.#k.insertInto(JOBS_TABLE).values(row).onConflict((c) => c.doNothing()).returningAll().executeTakeFirst()
      if (inserted) {
        if (job.delay === 0) for (const wake of this.#wakers.get(job.name) ?? []) wake()
        return { status: statusOf(inserted), created: true }
      }
      const existing = job.id !== undefined
        ? await this.#k.selectFrom(JOBS_TABLE).selectAll().where('id', '=', job.id).executeTakeFirst()
        : await this.#k.selectFrom(JOBS_TABLE).selectAll().where('name', '=', job.name).where('unique_key', '=', job.uniqueKey ?? null).where('state', 'in', ['queued', 'active']).executeTakeFirst()
      if (existing) return { status: statusOf(existing), created: false }
      // The pending job finished between our insert and our look: try again.
    }
    throw jobsErrors.create('PLINTH_ERR_JOBS_UNAVAILABLE', `could not add job "${job.name}" with unique key ${JSON.stringify(job.uniqueKey)}: it kept conflicting`)
  }

  async get(id: string): Promise<JobStatus | undefined> {
    const row = await this.#k.selectFrom(JOBS_TABLE).selectAll().where('id', '=', id).executeTakeFirst()
    return row && statusOf(row)
  }

  async list(query: ListQuery): Promise<JobStatus[]> {
    let select = this.#k.selectFrom(JOBS_TABLE).selectAll()
    if (query.state) select = select.where('state', '=', query.state)
    if (query.name) select = select.where('name', '=', query.name)
    const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(Math.min(query.limit ?? 100, 1000)).execute()
    return rows.map(statusOf)
  }

  async cancel(id: string): Promise<JobStatus> {
    const now = Date.now()
    const row = await this.#k
      .updateTable(JOBS_TABLE)
      .set({ state: 'cancelled', finished_at: now, updated_at: now, lease_until: null })
      .where('id', '=', id)
      .where('state', 'in', ['queued', 'active'])
      .returningAll()
      .executeTakeFirst()
    if (!row) throw await this.#finishedOrMissing(id, 'cancel')
    // Run here: stop it now. Run elsewhere: its worker sees it at its next lease renewal.
    interrupt(this.#active.get(id), jobsErrors.create('PLINTH_ERR_JOBS_CANCELLED', `job ${id} was cancelled`))
    return statusOf(row)
  }

  async retry(id: string): Promise<JobStatus> {
    const now = Date.now()
    const row = await this.#k
      .updateTable(JOBS_TABLE)
      .set((eb) => ({ state: 'queued', max_attempts: eb('attempts', '+', eb.ref('budget')), run_at: now, updated_at: now, finished_at: null, result: null, lease_until: null, worker: null }))
      .where('id', '=', id)
      .where('state', 'in', ['failed', 'cancelled'])
      .returningAll()
      .executeTakeFirst()
    if (!row) throw await this.#finishedOrMissing(id, 'retry')
    for (const wake of this.#wakers.get(row.name) ?? []) wake()
    return statusOf(row)
  }

  async #finishedOrMissing(id: string, verb: 'cancel' | 'retry') {
    const current = await this.get(id)
    if (!current) return jobsErrors.create('PLINTH_ERR_JOBS_NOT_FOUND', `there is no job ${JSON.stringify(id)}`, { details: { id } })
    return verb === 'cancel'
      ? jobsErrors.create('PLINTH_ERR_JOBS_ALREADY_FINISHED', `job ${id} (${current.name}) is already ${current.state}; it cannot be cancelled`, { details: { id, state: current.state } })
      : jobsErrors.create('PLINTH_ERR_JOBS_NOT_RETRYABLE', `job ${id} (${current.name}) is ${current.state}; only a failed or cancelled job can be retried`, { details: { id, state: current.state } })
  }

  async stats(): Promise<QueueStats> {
    const now = Date.now()
    const counts = await this.#k.selectFrom(JOBS_TABLE).select(['state', (eb) => eb.fn.countAll<number | string>().as('count')]).groupBy('state').execute()
    const oldest = await this.#k.selectFrom(JOBS_TABLE).select((eb) => eb.fn.min('run_at').as('oldest')).where('state', '=', 'queued').where('run_at', '<=', now).executeTakeFirst()
    const depth = Object.fromEntries(jobStates.map((state) => [state, 0])) as Record<JobState, number>
    for (const { state, count } of counts) depth[state as JobState] = Number(count)
    const since = oldest?.oldest === null || oldest?.oldest === undefined ? undefined : Number(oldest.oldest)
    return { depth, oldestWaitingAge: since === undefined ? 0 : Math.max(0, now - since) }
  }

  inspect(names: readonly string[]): Promise<QueueInspection> {
    return inspectDatabaseQueue(this.#db, this.#k, this.#lease, names)
  }

  work(name: string, concurrency: number, run: RunJob): BackendWorker {
    this.#workers++
    // One pass at a time: a slow database must not pile passes up.
    let maintaining = false
    this.#maintenance ??= setInterval(() => {
      if (maintaining) return
      maintaining = true
      this.#maintain()
        .catch(() => undefined)
        .finally(() => (maintaining = false))
    }, Math.max(50, Math.floor(this.#lease / 3)))
    const mine = new Set<Promise<void>>()
    let stopping = false
    let wake: (() => void) | undefined
    const wakers = this.#wakers.get(name) ?? new Set()
    this.#wakers.set(name, wakers)
    const nudge = () => wake?.()
    wakers.add(nudge)

    const loop = async () => {
      while (!stopping) {
        const free = concurrency - mine.size
        let taken = 0
        if (free > 0) {
          try {
            const jobs = await this.#claim(name, free)
            taken = jobs.length
            for (const job of jobs) {
              const done = this.#runOne(job, run).finally(() => {
                mine.delete(done)
                nudge()
              })
              mine.add(done)
            }
          } catch {
            // The database is unreachable for now: the next round tries again.
          }
        }
        if (stopping) break
        if (taken > 0 && taken === free) continue
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#poll)
          wake = () => {
            clearTimeout(timer)
            wake = undefined
            resolve()
          }
        })
      }
    }
    const looping = loop()
    return {
      stop: async (signal) => {
        stopping = true
        wake?.()
        wakers.delete(nudge)
        await looping
        // Runs end by themselves, or at the deadline when the runner hands them back.
        void signal
        await Promise.all(mine)
        if (--this.#workers === 0) {
          clearInterval(this.#maintenance)
          this.#maintenance = undefined
        }
      },
    }
  }

  async #claim(name: string, count: number): Promise<JobRow[]> {
    const now = Date.now()
    const lease = now + this.#lease
    const lock = this.#db.dialect === 'postgres' ? sql`for update skip locked` : sql``
    const result = await sql<JobRow>`
      update plinth_jobs set state = 'active', attempts = attempts + 1, lease_until = ${lease}, worker = ${this.#me}, started_at = ${now}, updated_at = ${now}
      where id in (
        select id from plinth_jobs where name = ${name} and state = 'queued' and run_at <= ${now}
        order by priority, run_at, id limit ${count} ${lock}
      )
      returning *`.execute(this.#k)
    return result.rows.sort((a, b) => a.priority - b.priority || Number(a.run_at) - Number(b.run_at) || (a.id < b.id ? -1 : 1))
  }

  async #runOne(row: JobRow, run: RunJob): Promise<void> {
    const active: ActiveRun = { interrupt: undefined, pending: undefined }
    this.#active.set(row.id, active)
    const claimed: ClaimedJob = {
      id: row.id,
      name: row.name,
      input: parse(row.input),
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      timeout: row.timeout ?? undefined,
      lastCheckpoint: parse(row.checkpoint),
      onInterrupt: (listener) => {
        if (active.pending) listener(active.pending)
        else active.interrupt = listener
        return () => (active.interrupt = undefined)
      },
      progress: async (progress) => {
        await this.#updateHeld(row, { progress: JSON.stringify(progress), updated_at: Date.now() })
      },
      checkpoint: async (cursor) => {
        await this.#updateHeld(row, { checkpoint: JSON.stringify(cursor ?? null), updated_at: Date.now() })
      },
    }
    let outcome: RunOutcome
    try {
      outcome = await run(claimed)
    } finally {
      this.#active.delete(row.id)
    }
    const recorded = await this.#record(row, outcome).catch(() => 'lost' as const)
    this.#hooks?.recorded(claimed, outcome, recorded)
  }

  /** Updates a job only while this instance holds the run of `row` (same worker, same attempt, still active). */
  async #updateHeld(row: JobRow, values: Partial<JobRow> | ((eb: ExpressionBuilder<JobTables, 'plinth_jobs'>) => Record<string, unknown>)): Promise<boolean> {
    const result = await this.#k
      .updateTable(JOBS_TABLE)
      .set(values as Partial<JobRow>)
      .where('id', '=', row.id)
      .where('worker', '=', this.#me)
      .where('state', '=', 'active')
      .where('attempts', '=', row.attempts)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  async #record(row: JobRow, outcome: RunOutcome): Promise<Recorded> {
    const now = Date.now()
    const update = (values: Partial<JobRow>) => this.#updateHeld(row, { ...values, updated_at: now, lease_until: null })
    const changed = (done: boolean) => done
    switch (outcome.kind) {
      case 'completed':
        return changed(await update({ state: 'completed', result: JSON.stringify(outcome.result ?? null), finished_at: now })) ? 'completed' : 'lost'
      case 'failed': {
        const error = JSON.stringify(outcome.error)
        if (outcome.final || row.attempts >= row.max_attempts) return changed(await update({ state: 'failed', error, finished_at: now })) ? 'failed' : 'lost'
        const wait = backoffFor(JSON.parse(row.backoff) as Backoff, row.attempts + 1)
        return changed(await update({ state: 'queued', error, worker: null, run_at: now + wait })) ? 'retrying' : 'lost'
      }
      case 'handed-back': {
        const done = await this.#updateHeld(row, (eb) => ({ state: 'queued', attempts: eb('attempts', '-', 1), worker: null, lease_until: null, run_at: now, updated_at: now }))
        return done ? 'handed-back' : 'lost'
      }
      case 'cancelled':
        return 'cancelled'
    }
  }

  /** Renews the leases this instance holds (aborting runs that were cancelled or taken away), then puts expired ones back. */
  async #maintain(): Promise<void> {
    const now = Date.now()
    const held = [...this.#active.keys()]
    if (held.length > 0) {
      const renewed = await this.#k
        .updateTable(JOBS_TABLE)
        .set({ lease_until: now + this.#lease })
        .where('id', 'in', held)
        .where('worker', '=', this.#me)
        .where('state', '=', 'active')
        .returning('id')
        .execute()
      const kept = new Set(renewed.map((r) => r.id))
      const gone = held.filter((id) => !kept.has(id) && this.#active.has(id))
      if (gone.length > 0) {
        const states = await this.#k.selectFrom(JOBS_TABLE).select(['id', 'state']).where('id', 'in', gone).execute()
        const stateOf = new Map(states.map((s) => [s.id, s.state]))
        for (const id of gone) {
          const reason = stateOf.get(id) === 'cancelled'
            ? jobsErrors.create('PLINTH_ERR_JOBS_CANCELLED', `job ${id} was cancelled`)
            : jobsErrors.create('PLINTH_ERR_JOBS_WORKER_LOST', `job ${id} is no longer held by this instance (its lease expired)`)
          interrupt(this.#active.get(id), reason)
        }
      }
    }
    await this.#recoverExpired(now)
  }

  async #recoverExpired(now: number): Promise<void> {
    const lost = (attempt: string) => JSON.stringify({
      message: `the worker running attempt ${attempt} stopped renewing its lease (killed, crashed or exited) before finishing the job`,
      code: 'PLINTH_ERR_JOBS_WORKER_LOST',
    } satisfies JobFailure)
    const expired = await this.#k.selectFrom(JOBS_TABLE).select(['id', 'name', 'attempts', 'max_attempts']).where('state', '=', 'active').where('lease_until', '<', now).limit(100).execute()
    for (const job of expired) {
      const base = this.#k.updateTable(JOBS_TABLE).where('id', '=', job.id).where('state', '=', 'active').where('lease_until', '<', now).where('attempts', '=', job.attempts)
      const exhausted = job.attempts >= job.max_attempts
      const result = exhausted
        ? await base.set({ state: 'failed', error: lost(String(job.attempts)), finished_at: now, updated_at: now, lease_until: null, worker: null }).executeTakeFirst()
        : await base.set({ state: 'queued', error: lost(String(job.attempts)), run_at: now, updated_at: now, lease_until: null, worker: null }).executeTakeFirst()
      if (result.numUpdatedRows > 0n) {
        this.#hooks?.lost(job.id, job.name, exhausted ? 'failed' : 'retrying')
        if (!exhausted) for (const wake of this.#wakers.get(job.name) ?? []) wake()
      }
    }
  }

  close(): Promise<void> {
    clearInterval(this.#maintenance)
    this.#maintenance = undefined
    // The database belongs to the app: its component closes it.
    return Promise.resolve()
  }
}
