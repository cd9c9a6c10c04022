/**
 * What `plinth validate` reads of a queue, for each backend: the workers the backend can see and
 * the active jobs nothing holds any more. Kept apart from the backends' work loops: it reads,
 * never takes or changes a job.
 */
import type { Database } from '@plinth/db'
import type { Job, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { QueueInspection, StuckJob } from './contract.js'
import { jobsErrors } from './errors.js'
import { JOBS_TABLE, type JobTables } from './schema.js'

/**
 * The database queue: workers are known only by the jobs they hold (an idle worker writes
 * nothing), and a job is stuck when its lease ran out and no worker's reaper, which runs every
 * third of a lease, has put it back.
 */
export async function inspectDatabaseQueue(db: Database, k: Kysely<JobTables>, lease: number, names: readonly string[]): Promise<QueueInspection> {
  // Querying through the app's connection would connect *and migrate*: a check must not apply
  // migrations, so pending ones (the database checks name them) stop it here. Those start-up
  // applies leave a queue that is not there yet, and so empty; any others, one that cannot start.
  const pending = (await db.migrator.status()).filter((m) => m.state === 'pending').map((m) => `${m.module}/${m.name}`)
  if (pending.length > 0 && db.migratesAtStart) return { workers: {}, countsIdleWorkers: false, stuck: [], pendingAtStart: pending }
  if (pending.length > 0) {
    throw jobsErrors.create('PLINTH_ERR_JOBS_UNAVAILABLE', `${pending.length} migration(s) of ${db.url} pending (${pending.join(', ')}), and start-up does not apply them (DATABASE_MIGRATE=false): the queue is read once they are applied`)
  }
  const now = Date.now()
  const holding = await k.selectFrom(JOBS_TABLE).select(['name', 'worker']).distinct().where('state', '=', 'active').where('lease_until', '>=', now).execute()
  const workers: Record<string, number> = {}
  for (const { name, worker } of holding) if (worker !== null) workers[name] = (workers[name] ?? 0) + 1
  const grace = Math.max(1_000, Math.floor(lease / 3))
  const expired = await k
    .selectFrom(JOBS_TABLE)
    .select(['id', 'name', 'started_at', 'worker'])
    .where('state', '=', 'active')
    .where('lease_until', '<', now - grace)
    .orderBy('started_at')
    .limit(20)
    .execute()
  const stuck = expired.map((row): StuckJob => ({ id: row.id, name: row.name, activeFor: now - Number(row.started_at ?? now), ...(row.worker === null ? {} : { worker: row.worker }) }))
  return { workers: Object.fromEntries(names.filter((name) => workers[name]).map((name) => [name, workers[name]!])), countsIdleWorkers: false, stuck }
}

/** Answers once Redis does, or rejects with the connection's own error (refused, wrong password, unknown host). */
function reachable(redis: Redis): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(error)
    // ioredis retries for ever (workers need maxRetriesPerRequest: null): its first error is the
    // answer, and the retries after it are not news (nor printed as unhandled).
    redis.once('error', failed)
    redis.on('error', () => undefined)
    redis.ping().then(
      () => {
        redis.off('error', failed)
        resolve()
      },
      reject,
    )
  })
}

/**
 * BullMQ: every worker names its connection after its queue, so the queue lists them (whether
 * busy or idle); a job is stuck when it is active, older than a lease, and its lock is gone
 * (the stalled-job check of a running worker would have moved it back).
 */
export async function inspectBullmqQueue(redis: Redis, queueOf: (name: string) => Queue, lockKey: (name: string, id: string) => string, lease: number, names: readonly string[], registered: () => Promise<string[]>): Promise<QueueInspection> {
  await reachable(redis)
  const now = Date.now()
  const workers: Record<string, number> = {}
  const stuck: StuckJob[] = []
  // The app's own job names, and every other queue recorded under the prefix: a stuck job is found wherever it is.
  const all = await registered()
  for (const name of all) {
    const queue = queueOf(name)
    if (names.includes(name)) workers[name] = (await queue.getWorkers()).length
    for (const job of (await queue.getActive(0, 99)) as Job[]) {
      const activeFor = now - (job.processedOn ?? job.timestamp)
      if (activeFor > lease && (await redis.exists(lockKey(name, job.id!))) === 0) stuck.push({ id: `${name}@${job.id!}`, name, activeFor })
    }
  }
  return { workers, countsIdleWorkers: true, stuck }
}
