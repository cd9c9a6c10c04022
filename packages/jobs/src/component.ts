/**
 * The jobs component: `jobs()` provides the `Jobs` token. Its backend follows the environment:
 * JOBS_URL=redis://... (or, without JOBS_URL, REDIS_URL) is BullMQ; otherwise the durable queue
 * on the app's database. It starts a worker per handler the modules contribute, schedules their
 * repeating jobs, reports health (queue reachable, oldest waiting job's age) and metrics, and at
 * shutdown stops taking jobs, lets active runs finish and hands the rest back.
 */
import { Application, Logger, Metrics, optional, provide, token, type AnyProvider, type Provider } from '@plinth/core'
import { Database } from '@plinth/db'
import { BullmqQueue } from './bullmq-queue.js'
import type { JobBackend } from './contract.js'
import { DatabaseQueue } from './database-queue.js'
import type { JobDefinition } from './definition.js'
import { jobsErrors } from './errors.js'
import { JobEvents } from './events.js'
import { JobHandlers } from './handler.js'
import { JobQueue } from './jobs.js'
import { JobRepeats } from './repeat.js'

/**
 * The app's job queue.
 *
 * @example
 * component('courses', { deps: { jobs: Jobs }, create: ({ jobs }) => ({ start: (topic: string) => jobs.enqueue(generateOutline, { topic }) }) })
 */
export const Jobs = token('jobs').of<JobQueue>()

export interface JobsOptions {
  /** `redis://...` for BullMQ, `database` for the queue on the app's database. Default: env JOBS_URL, else REDIS_URL, else `database`. */
  url?: string
  /** BullMQ's key prefix. Default: env JOBS_PREFIX, else 'plinth'. */
  prefix?: string
  /** How long a run is held without renewal before another worker takes it over. Default 30 000 ms. */
  leaseDuration?: number
  /** Database queue: how often idle workers look for jobs queued by other instances. Default 500 ms. */
  pollInterval?: number
  /** BullMQ: take-overs from lost workers before a job fails. Default 1. */
  maxStalledCount?: number
  /** Run workers on this instance. Default: env JOBS_WORKERS (false, 0, no turn them off), else true. */
  work?: boolean
  /** Jobs this instance enqueues by name without handling them. */
  definitions?: readonly JobDefinition<any, any>[]
  /** At shutdown, how long active runs may go on before they are handed back. Default 8 000 ms. */
  drainTimeout?: number
  /** The component's stop deadline; keep it above drainTimeout. Default 10 000 ms. */
  stopTimeout?: number
}

/**
 * Which backend a URL selects.
 *
 * @example
 * backendKind(undefined) // 'database'
 * backendKind('redis://cache:6379') // 'bullmq'
 */
export function backendKind(url: string | undefined): 'database' | 'bullmq' {
  if (url === undefined || url === '' || url === 'database') return 'database'
  if (/^rediss?:\/\//.test(url)) return 'bullmq'
  throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_URL', `JOBS_URL ${JSON.stringify(url.replace(/:[^:@/]*@/, ':***@'))} is neither redis://, rediss:// nor "database"`)
}

/** The providers jobs() made, so that the preflight finds them. */
export const jobsProviders = new WeakSet<AnyProvider>()

const deps = {
  app: Application,
  log: Logger,
  handlers: JobHandlers,
  repeats: JobRepeats,
  metrics: optional(Metrics),
  events: optional(JobEvents),
  db: optional(Database),
}

/**
 * The jobs component. Add `jobsMigrations` beside it when the queue is on the app's database.
 *
 * @example
 * export const app = createApp({
 *   name: 'learning',
 *   components: [database(), jobsMigrations, jobs({ leaseDuration: 15_000 })],
 *   modules: [courses], // contributes jobHandler(generateOutline, ...)
 * })
 */
export function jobs(options: JobsOptions = {}): Provider<JobQueue, 'jobs', typeof deps> {
  const provider = provide(Jobs, {
    deps,
    create: ({ app, log, handlers, repeats, metrics, events, db }) => {
      const env = app.env
      const url = options.url ?? (env.JOBS_URL || env.REDIS_URL || undefined)
      let backend: JobBackend
      if (backendKind(url) === 'bullmq') {
        backend = new BullmqQueue({
          url: url!,
          prefix: options.prefix ?? (env.JOBS_PREFIX || 'plinth'),
          ...(options.leaseDuration === undefined ? {} : { leaseDuration: options.leaseDuration }),
          ...(options.maxStalledCount === undefined ? {} : { maxStalledCount: options.maxStalledCount }),
        })
      } else {
        if (!db) throw jobsErrors.create('PLINTH_ERR_JOBS_UNAVAILABLE', 'the jobs component runs its queue on the app\'s database, and the app has none: add database() from @plinth/db (and jobsMigrations), or set JOBS_URL=redis://...')
        backend = new DatabaseQueue(db, {
          ...(options.leaseDuration === undefined ? {} : { leaseDuration: options.leaseDuration }),
          ...(options.pollInterval === undefined ? {} : { pollInterval: options.pollInterval }),
        })
      }
      const work = options.work ?? !/^(0|false|no|off)$/i.test(env.JOBS_WORKERS ?? '')
      const queue = new JobQueue({
        backend,
        handlers,
        definitions: [...(options.definitions ?? []), ...repeats.map((r) => r.definition)],
        // Read when the queue starts: a preflight builds the queue without starting the app, and no container exists then.
        get container() {
          return app.container
        },
        log: log.child({ component: 'jobs' }),
        ...(events ? { events } : {}),
        ...(metrics ? { metrics } : {}),
        work,
        ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
      })
      for (const repeat of repeats) queue.schedule(repeat.definition, repeat.cron, repeat.input, repeat.options)
      return queue
    },
    start: (queue) => queue.start(),
    stop: (queue, { signal }) => queue.stop(signal),
    health: async (queue) => {
      try {
        const { depth, oldestWaitingAge } = await queue.stats()
        return { status: 'up', details: { backend: queue.backend.kind, oldestWaitingAgeMs: oldestWaitingAge, depth } }
      } catch (error) {
        // On an optional database (SKIP_DB_INIT) the app runs without its queue for a while: degraded, not down.
        if (!(queue.backend instanceof DatabaseQueue && queue.backend.optional)) throw error
        return { status: 'degraded', details: { backend: queue.backend.kind, reason: `the queue's database is unavailable: ${error instanceof Error ? error.message : String(error)}` } }
      }
    },
    eager: true,
    stopTimeout: options.stopTimeout ?? 10_000,
  })
  jobsProviders.add(provider)
  return provider
}
