/**
 * Jobs per second: enqueue N jobs and run an empty handler on each to completion, for
 * @plinth/jobs' database queue on SQLite and on PostgreSQL and its BullMQ backend, beside BullMQ
 * used directly and pg-boss 10 on the same servers, in one run. Targets: the BullMQ backend at
 * 80% or more of raw BullMQ; the PostgreSQL queue ahead of pg-boss.
 *
 *   npx tsc -b bench && node bench/dist/jobs/throughput.js
 *   BENCH_JOBS=5000 BENCH_ROUNDS=9 BENCH_ONLY=BullMQ node bench/dist/jobs/throughput.js
 *
 * Measure the build, not the sources through tsx: tsx keeps function names by wrapping every
 * closure our code creates in a defineProperty call (esbuild's keepNames), which BullMQ's and
 * pg-boss's plain JavaScript does not pay; from the sources the SQLite queue measured 2.5x slower.
 *
 * Every contender gets the same work: producers keep 50 enqueues in flight while the workers
 * (20 runs at once) take them; the clock stops when the last job has completed (for pg-boss,
 * when its handler has run for the last batch: its completion write is not waited for, which
 * favours it). Rounds rotate the order of the contenders; jobs/s is the median round, and "vs
 * peer" the median over rounds of the paired ratio (the peer's time over the contender's in the
 * same round), which holds better than a ratio of medians on a machine whose load drifts. Each
 * contender has its own database, schema or key prefix, removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createApp } from '@plinth/core'
import { database } from '@plinth/db'
import { BullmqQueue, Jobs, job, jobHandler, jobs, jobsMigrations } from '@plinth/jobs'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import pg from 'pg'
import PgBoss from 'pg-boss'
import { formatOps, formatRatio, heading, table } from '../report.js'

const JOBS = Number(process.env.BENCH_JOBS ?? 2_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONCURRENCY = 20
const IN_FLIGHT = 50
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`

interface Running {
  /** Enqueues `count` jobs and resolves once all have run to completion, with the milliseconds it took. */
  round(count: number): Promise<number>
  close(): Promise<void>
}
interface Contender {
  readonly name: string
  open(): Promise<Running>
}

/** Calls `add(i)` for i < count with at most IN_FLIGHT calls pending. */
async function enqueueAll(count: number, add: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  const producer = async () => {
    while (next < count) await add(next++)
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, producer))
}

/** Resolves when `done()` has been called `count` times. */
function counter(count: number) {
  let left = count
  let resolve!: () => void
  const all = new Promise<void>((r) => (resolve = r))
  return { all, done: (n = 1) => ((left -= n) <= 0 ? resolve() : undefined) }
}

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

function postgresUrl(name: string): string {
  const url = new URL(POSTGRES)
  url.pathname = `/${name}`
  return url.toString()
}

/** @plinth/jobs through its component, as an app runs it. */
function plinth(name: string, target: () => Promise<{ url: string; database?: string; cleanup: () => Promise<void> }>): Contender {
  return {
    name,
    open: async () => {
      const where = await target()
      const empty = job('bench.empty').of<{ i: number }>()
      let current = counter(0)
      const app = createApp({
        name: 'jobs-bench',
        components: [
          ...(where.database ? [database({ url: where.database, migrate: true }), jobsMigrations] : []),
          jobs({ url: where.url, prefix: `plinth-bench-${suffix}` }),
          jobHandler(empty, { concurrency: CONCURRENCY, run: () => undefined }),
        ],
        logging: { level: 'silent' },
      })
      await app.start({ env: {} })
      const queue = app.container.get(Jobs)
      queue.subscribe((event) => event.type === 'completed' && current.done())
      return {
        round: async (count) => {
          current = counter(count)
          const began = performance.now()
          await enqueueAll(count, (i) => queue.enqueue(empty, { i }))
          await current.all
          return performance.now() - began
        },
        close: async () => {
          await app.stop()
          await where.cleanup()
        },
      }
    },
  }
}

const sqlite = plinth('plinth database queue (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-jobs-bench-'))
  return Promise.resolve({ url: 'database', database: `sqlite:${join(dir, 'jobs.sqlite')}`, cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) })
})

const postgres = plinth('plinth database queue (PostgreSQL)', async () => {
  const name = `plinth_jobs_bench_${suffix}`
  await admin(`create database "${name}"`)
  return { url: 'database', database: postgresUrl(name), cleanup: () => admin(`drop database if exists "${name}" with (force)`) }
})

const plinthBullmq = plinth('plinth BullMQ backend', () =>
  Promise.resolve({
    url: REDIS,
    cleanup: async () => {
      const queue = new BullmqQueue({ url: REDIS, prefix: `plinth-bench-${suffix}` })
      await queue.obliterate()
      await queue.close()
    },
  }),
)

const backendOnly: Contender = {
  name: 'BullmqQueue alone (no app, no runner)',
  open: async () => {
    const prefix = `plinth-bench-b-${suffix}`
    const queue = new BullmqQueue({ url: REDIS, prefix })
    let current = counter(0)
    await queue.open({ recorded: (_job, outcome) => outcome.kind === 'completed' && current.done(), lost: () => undefined })
    const worker = queue.work('bench.empty', CONCURRENCY, () => Promise.resolve({ kind: 'completed', result: null }))
    const add = { name: 'bench.empty', attempts: 1, backoff: { type: 'exponential', delay: 1000 }, timeout: undefined, priority: 0, delay: 0, uniqueKey: undefined } as const
    return {
      round: async (count) => {
        current = counter(count)
        const began = performance.now()
        await enqueueAll(count, (i) => queue.add({ ...add, input: { i } }))
        await current.all
        return performance.now() - began
      },
      close: async () => {
        await worker.stop(new AbortController().signal)
        await queue.obliterate()
        await queue.close()
      },
    }
  },
}

const rawBullmq: Contender = {
  name: 'BullMQ 6 (direct)',
  open: async () => {
    const prefix = `bullmq-bench-${suffix}`
    const connection = new Redis(REDIS, { maxRetriesPerRequest: null })
    const queue = new Queue('bench', { connection, prefix })
    let current = counter(0)
    const worker = new Worker('bench', () => Promise.resolve(), { connection, prefix, concurrency: CONCURRENCY })
    worker.on('completed', () => current.done())
    await worker.waitUntilReady()
    return {
      round: async (count) => {
        current = counter(count)
        const began = performance.now()
        await enqueueAll(count, (i) => queue.add('bench', { i }))
        await current.all
        return performance.now() - began
      },
      close: async () => {
        await worker.close()
        await queue.obliterate({ force: true })
        await queue.close()
        await connection.quit()
      },
    }
  },
}

const pgBoss: Contender = {
  name: 'pg-boss 10',
  open: async () => {
    const name = `pgboss_bench_${suffix}`
    await admin(`create database "${name}"`)
    const boss = new PgBoss({ connectionString: postgresUrl(name), supervise: false, schedule: false })
    boss.on('error', () => undefined)
    await boss.start()
    await boss.createQueue('bench')
    let current = counter(0)
    // Its fastest settings: the shortest polling interval it accepts, and batches larger than our 20 runs at once.
    await boss.work('bench', { batchSize: 100, pollingIntervalSeconds: 0.5 }, (jobs) => {
      current.done(jobs.length)
      return Promise.resolve()
    })
    return {
      round: async (count) => {
        current = counter(count)
        const began = performance.now()
        await enqueueAll(count, (i) => boss.send('bench', { i }))
        await current.all
        return performance.now() - began
      },
      close: async () => {
        await boss.stop({ graceful: false, wait: true })
        await admin(`drop database if exists "${name}" with (force)`)
      },
    }
  },
}

const only = process.env.BENCH_ONLY?.split(',')
const contenders = [sqlite, postgres, pgBoss, plinthBullmq, backendOnly, rawBullmq].filter((c) => !only || only.some((o) => c.name.includes(o)))
const running = new Map<string, Running>()
const times = new Map<string, number[]>()
const failures = new Map<string, string>()
for (const contender of contenders) {
  try {
    const opened = await contender.open()
    await opened.round(Math.min(200, JOBS)) // warm-up: connections, JIT, prepared plans
    running.set(contender.name, opened)
    times.set(contender.name, [])
  } catch (error) {
    failures.set(contender.name, error instanceof Error ? error.message : String(error))
  }
}
const cpuTimes = new Map<string, number[]>([...running.keys()].map((name) => [name, []]))
for (let round = 0; round < ROUNDS; round++) {
  const order = [...running.keys()]
  for (let i = 0; i < round % order.length; i++) order.push(order.shift()!)
  for (const name of order) {
    const cpu = process.cpuUsage()
    times.get(name)!.push(await running.get(name)!.round(JOBS))
    const used = process.cpuUsage(cpu)
    cpuTimes.get(name)!.push((used.user + used.system) / 1000)
  }
}
for (const opened of running.values()) await opened.close().catch(() => undefined)

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const rate = (name: string) => (times.has(name) ? JOBS / (median(times.get(name)!) / 1000) : undefined)
const cpuRate = (name: string) => (cpuTimes.has(name) ? JOBS / (median(cpuTimes.get(name)!) / 1000) : undefined)
/** The median over rounds of the peer's time divided by the contender's: rounds pair batches run close together, so load that drifts falls on both. */
const pairedRatio = (name: string, peer: string, source: Map<string, number[]>) => {
  const mine = source.get(name)
  const theirs = source.get(peer)
  return mine && theirs ? median(mine.map((ms, i) => theirs[i]! / ms)) : undefined
}
const versus: Record<string, string> = { 'BullmqQueue alone (no app, no runner)': 'BullMQ 6 (direct)', 'plinth BullMQ backend': 'BullMQ 6 (direct)', 'plinth database queue (PostgreSQL)': 'pg-boss 10' }
console.log(heading(`Jobs per second: enqueue ${JOBS} and run an empty handler to completion, ${CONCURRENCY} at once, median of ${ROUNDS} rounds`))
console.log(
  table(
    ['contender', 'jobs/s (wall)', 'vs peer (wall)', 'jobs per client CPU-s', 'vs peer (CPU)'],
    contenders.map((c) => {
      const ops = rate(c.name)
      if (ops === undefined) return [c.name, failures.get(c.name) ?? 'failed', '', '', '']
      const peer = versus[c.name]
      const wallRatio = peer ? pairedRatio(c.name, peer, times) : undefined
      const cpuRatio = peer ? pairedRatio(c.name, peer, cpuTimes) : undefined
      return [c.name, formatOps(ops), wallRatio ? `${formatRatio(wallRatio)} of ${peer}` : '', formatOps(cpuRate(c.name)!), cpuRatio ? formatRatio(cpuRatio) : '']
    }),
  ),
)
