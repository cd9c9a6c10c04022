/**
 * The jobs' Prometheus metrics: what was enqueued, started, completed, failed and retried per
 * job name, how long runs took, how many progress updates were stored, and the queue's depth
 * per state (read from the backend at each scrape).
 */
import type { HistogramSeries, MetricsRegistry } from '@plinth/core'
import type { QueueStats, Recorded } from './contract.js'

const durationBuckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900]

/** Counters and histograms of the jobs component, registered once per registry. */
export class JobMetrics {
  readonly #enqueued
  readonly #started
  readonly #completed
  readonly #failed
  readonly #retried
  readonly #progress
  readonly #duration
  /** Bound series per job and outcome: observing through one skips prom-client's label hashing. */
  readonly #bound = new Map<string, HistogramSeries>()

  constructor(metrics: MetricsRegistry, stats: () => Promise<QueueStats>) {
    this.#enqueued = metrics.counter({ name: 'jobs_enqueued_total', help: 'Jobs added to the queue', labelNames: ['job'] })
    this.#started = metrics.counter({ name: 'jobs_started_total', help: 'Job runs started on this instance', labelNames: ['job'] })
    this.#completed = metrics.counter({ name: 'jobs_completed_total', help: 'Job runs that completed', labelNames: ['job'] })
    this.#failed = metrics.counter({ name: 'jobs_failed_total', help: 'Jobs that failed for good (no attempt left)', labelNames: ['job'] })
    this.#retried = metrics.counter({ name: 'jobs_retried_total', help: 'Failed runs put back for another attempt, and failed jobs retried by hand', labelNames: ['job'] })
    this.#progress = metrics.counter({ name: 'jobs_progress_updates_total', help: 'Progress updates stored', labelNames: ['job'] })
    this.#duration = metrics.boundHistogram({ name: 'jobs_duration_seconds', help: 'Duration of job runs', labelNames: ['job', 'outcome'], buckets: durationBuckets })
    metrics.gauge({
      name: 'jobs_queue_depth',
      help: 'Jobs in the queue per state',
      labelNames: ['state'],
      async collect() {
        try {
          const { depth } = await stats()
          for (const [state, count] of Object.entries(depth)) this.set({ state: state }, count)
        } catch {
          // The queue is unreachable: the scrape goes on with the last figures; health reports the outage.
        }
      },
    })
  }

  enqueued(job: string): void {
    this.#enqueued.inc({ job })
  }

  started(job: string): void {
    this.#started.inc({ job })
  }

  progressed(job: string): void {
    this.#progress.inc({ job })
  }

  retried(job: string): void {
    this.#retried.inc({ job })
  }

  #series(job: string, outcome: Recorded): HistogramSeries {
    const key = `${job}\u0000${outcome}`
    let series = this.#bound.get(key)
    if (!series) this.#bound.set(key, (series = this.#duration.series({ job, outcome })))
    return series
  }

  /** A run ended as `recorded`; `seconds` is undefined for a run whose worker was lost. */
  finished(job: string, recorded: Recorded, seconds: number | undefined): void {
    if (recorded === 'completed') this.#completed.inc({ job })
    else if (recorded === 'failed') this.#failed.inc({ job })
    else if (recorded === 'retrying') this.#retried.inc({ job })
    if (seconds !== undefined) this.#series(job, recorded).observe(seconds)
  }
}
