/**
 * Job events: what happens to jobs (progress, completion, failure, cancellation), published
 * through a port so that an app can carry them across instances on its event bus. The default
 * is in process; provide `JobEvents` to bind another (the messaging bus, Redis pub/sub...).
 */
import { token } from '@plinth/core'
import type { JobFailure, JobProgress } from './contract.js'

/** One thing that happened to a job. `at` is an ISO 8601 time. */
export type JobEvent =
  | { readonly type: 'enqueued'; readonly id: string; readonly name: string; readonly at: string }
  | { readonly type: 'started'; readonly id: string; readonly name: string; readonly attempt: number; readonly at: string }
  | { readonly type: 'progress'; readonly id: string; readonly name: string; readonly progress: JobProgress; readonly at: string }
  | { readonly type: 'completed'; readonly id: string; readonly name: string; readonly result: unknown; readonly at: string }
  /** `willRetry`: another attempt follows after the backoff. */
  | { readonly type: 'failed'; readonly id: string; readonly name: string; readonly error: JobFailure; readonly attempt: number; readonly willRetry: boolean; readonly at: string }
  | { readonly type: 'cancelled'; readonly id: string; readonly name: string; readonly at: string }

export type JobEventType = JobEvent['type']

/** Where job events go, and where listeners hear them. */
export interface JobEventSink {
  publish(event: JobEvent): void | Promise<void>
  /** Calls `listener` for every event; returns the function that stops it. */
  subscribe(listener: (event: JobEvent) => void): () => void
}

/**
 * The port for job events. Without a provider the jobs component uses an in-process sink: events
 * reach listeners of the instance that ran the job only.
 *
 * @example
 * provide(JobEvents, {
 *   deps: { bus: EventBus },
 *   create: ({ bus }) => ({ publish: (e) => bus.publish('jobs', e), subscribe: (l) => bus.subscribe('jobs', l) }),
 * })
 */
export const JobEvents = token('job-events').of<JobEventSink>()

/**
 * An in-process event sink: listeners are called synchronously, and one that throws does not stop
 * the others.
 *
 * @example
 * const events = localJobEvents()
 * const stop = events.subscribe((e) => console.log(e.type, e.id))
 * stop()
 */
export function localJobEvents(): JobEventSink {
  const listeners = new Set<(event: JobEvent) => void>()
  return {
    publish(event) {
      for (const listener of listeners) {
        try {
          listener(event)
        } catch {
          // A listener's failure is its own; the job and the other listeners go on.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
