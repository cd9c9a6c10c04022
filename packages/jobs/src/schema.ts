/**
 * The database queue's table, as migrations of module `jobs`: one row per job, the same on
 * SQLite and PostgreSQL. Times are milliseconds since the epoch; input, progress, checkpoint,
 * result and error are JSON text.
 */
import { defineMigrations } from '@plinth/db'
import { sql } from 'kysely'

/** The table the database queue keeps its jobs in. */
export const JOBS_TABLE = 'plinth_jobs'

/** A row of `plinth_jobs` as Kysely reads it (PostgreSQL returns bigint as strings). */
export interface JobRow {
  id: string
  name: string
  state: string
  input: string
  priority: number
  run_at: number | string
  attempts: number
  max_attempts: number
  /** Attempts each retry() grants: the job's `attempts` option. */
  budget: number
  backoff: string
  timeout: number | null
  unique_key: string | null
  progress: string | null
  checkpoint: string | null
  result: string | null
  error: string | null
  lease_until: number | string | null
  worker: string | null
  created_at: number | string
  started_at: number | string | null
  finished_at: number | string | null
  updated_at: number | string
}

export interface JobTables {
  plinth_jobs: JobRow
}

/**
 * The migrations of the database queue. Add them to the app beside `jobs()` when the queue runs
 * on the app's database; they are applied with the app's other migrations (at connection in
 * development or with DATABASE_MIGRATE=true, else by `plinth migrate up`).
 *
 * @example
 * createApp({ name: 'shop', components: [database(), jobsMigrations, jobs()] })
 */
export const jobsMigrations = defineMigrations('jobs', {
  '001_plinth_jobs': {
    up: async (db) => {
      await db.schema
        .createTable(JOBS_TABLE)
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('budget', 'integer', (c) => c.notNull())
        .addColumn('backoff', 'text', (c) => c.notNull())
        .addColumn('timeout', 'integer')
        .addColumn('unique_key', 'text')
        .addColumn('progress', 'text')
        .addColumn('checkpoint', 'text')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('worker', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      // What workers take next: queued jobs of a name, by priority then time.
      await sql`create index plinth_jobs_ready on plinth_jobs (name, priority, run_at, id) where state = 'queued'`.execute(db)
      // Where the lease reaper looks for jobs whose worker stopped renewing.
      await sql`create index plinth_jobs_leases on plinth_jobs (lease_until) where state = 'active'`.execute(db)
      await sql`create index plinth_jobs_states on plinth_jobs (state, created_at)`.execute(db)
      // One pending job per unique key: a second enqueue finds the first.
      await sql`create unique index plinth_jobs_unique on plinth_jobs (name, unique_key) where unique_key is not null and state in ('queued', 'active')`.execute(db)
    },
    down: (db) => db.schema.dropTable(JOBS_TABLE).execute(),
  },
})
