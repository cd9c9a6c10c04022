/**
 * The jobs' preflight checks, one set per jobs component: the queue answers, every job name has
 * a worker somewhere in the group (this instance once started, or another one live now), and no
 * job sits active past its lease with nothing running it.
 */
import { definePreflight, type PreflightCheck, type PreflightContext, type PreflightOutcome, type Token } from '@plinth/core'
import { Database } from '@plinth/db'
import { jobsProviders } from './component.js'
import type { QueueInspection } from './contract.js'
import type { JobQueue } from './jobs.js'

const minutes = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`)

function checksFor(target: Token<unknown>): PreflightCheck[] {
  let built: Promise<JobQueue> | undefined
  let inspected: Promise<{ queue: JobQueue; inspection: QueueInspection }> | undefined
  const queueOf = (context: PreflightContext) => (built ??= context.resolve(target) as Promise<JobQueue>)
  const inspect = (context: PreflightContext) =>
    (inspected ??= (async () => {
      const queue = await queueOf(context)
      context.onCleanup(() => queue.backend.close())
      // The database queue reads through the app's database, which the queue does not close.
      if (queue.backend.kind === 'database') context.onCleanup(async () => (await context.resolve(Database)).close())
      return { queue, inspection: await queue.backend.inspect(queue.knownNames) }
    })())
  const unreachable = (queue: JobQueue | undefined) =>
    queue?.backend.kind === 'database'
      ? 'make the database reachable and apply its migrations (jobsMigrations among them): see the database checks'
      : 'start Redis, or correct JOBS_URL (else REDIS_URL): host, port, password'
  // The checks that read the queue fail with the queue's own cause and fix when it cannot be read.
  const guarded =
    (run: (context: PreflightContext) => Promise<PreflightOutcome>) =>
    async (context: PreflightContext): Promise<PreflightOutcome> => {
      try {
        return await run(context)
      } catch (error) {
        return { status: 'fail', found: `the queue cannot be read: ${error instanceof Error ? error.message : String(error)}`, fix: unreachable(await queueOf(context).catch(() => undefined)) }
      }
    }
  return [
    {
      category: 'jobs',
      name: 'queue reachable',
      run: async (context): Promise<PreflightOutcome> => {
        try {
          const { queue, inspection } = await inspect(context)
          const names = queue.knownNames
          const pending = inspection.pendingAtStart
          if (pending !== undefined) {
            return {
              status: 'warn',
              found: `the database answered; its queue is not there yet: ${pending.length} migration(s) pending, which start-up applies (${pending.join(', ')})`,
              fix: 'apply them before the rollout (`plinth migrate up`): see the database checks',
            }
          }
          return { status: 'pass', found: `${queue.backend.kind === 'bullmq' ? 'BullMQ on Redis' : 'the database queue'} answered; ${names.length} job name${names.length === 1 ? '' : 's'}` }
        } catch (error) {
          return { status: 'fail', found: error instanceof Error ? error.message : String(error), fix: unreachable(await queueOf(context).catch(() => undefined)) }
        }
      },
    },
    {
      category: 'jobs',
      name: 'workers in the group',
      run: guarded(async (context): Promise<PreflightOutcome> => {
        const { queue, inspection } = await inspect(context)
        const here = new Set(queue.workerNames)
        const live = (name: string) => inspection.workers[name] ?? 0
        const orphans = queue.knownNames.filter((name) => !here.has(name) && live(name) === 0)
        const seen = Object.values(inspection.workers).reduce((sum, n) => sum + n, 0)
        const liveNow = `${seen} worker${seen === 1 ? '' : 's'} live now${inspection.countsIdleWorkers ? '' : ' holding a job'}`
        if (orphans.length === 0) {
          return { status: 'pass', found: queue.knownNames.length === 0 ? 'no job declared' : `${here.size > 0 ? `this instance runs workers for ${here.size} job name${here.size === 1 ? '' : 's'}; ` : ''}${liveNow}` }
        }
        const fix = `run an instance with workers for ${orphans.join(', ')} (JOBS_WORKERS unset or true, with their handlers), or let this one run them (unset JOBS_WORKERS=${context.env.JOBS_WORKERS ?? 'false'})`
        // The database queue cannot see an idle worker: no trace is not proof of none.
        if (!inspection.countsIdleWorkers) return { status: 'warn', found: `no worker seen for ${orphans.join(', ')} (this instance runs none; the database queue records only workers holding a job)`, fix }
        return { status: 'fail', found: `no worker for ${orphans.join(', ')}: jobs of ${orphans.length === 1 ? 'this name' : 'these names'} wait for ever`, fix }
      }),
    },
    {
      category: 'jobs',
      name: 'no job stuck past its lease',
      run: guarded(async (context): Promise<PreflightOutcome> => {
        const { inspection } = await inspect(context)
        const { stuck } = inspection
        if (stuck.length === 0) return { status: 'pass', found: 'no active job past its lease' }
        const listed = stuck.slice(0, 5).map((job) => `${job.id} active ${minutes(job.activeFor)}${job.worker ? ` (held by ${job.worker})` : ''}`)
        const names = [...new Set(stuck.map((job) => job.name))]
        return {
          status: 'fail',
          found: `${stuck.length} active job${stuck.length === 1 ? '' : 's'} past ${stuck.length === 1 ? 'its' : 'their'} lease, run by nothing: ${listed.join(', ')}${stuck.length > 5 ? ', ...' : ''}`,
          fix: `start a worker for ${names.join(', ')}: it puts jobs whose worker died back in the queue (or fails them past their attempts); then find in the lost worker's logs why it stopped`,
        }
      }),
    },
  ]
}

definePreflight(({ providers }) => providers.filter((p) => jobsProviders.has(p)).flatMap((p) => checksFor(p.provides as Token<unknown>)))
