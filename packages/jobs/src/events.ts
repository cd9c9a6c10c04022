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

/**
 * Where a job event happened: on this instance (`local`), or on another one whose events reach
 * this instance through a bus (`busJobEvents()` from `@plinth/jobs/bus`). A listener that passes
 * events on to something that already spans the instances (a WebSocket pub/sub on the bus)
 * forwards the local ones only, so that nothing is sent twice.
 */
export interface JobEventOrigin {
  readonly local: boolean
  /** The instance the event came from, for a remote one. */
  readonly instance?: string
}

/** Hears job events, with where each happened. */
export type JobEventListener = (event: JobEvent, origin: JobEventOrigin) => void

/** Where job events go, and where listeners hear them. */
export interface JobEventSink {
  publish(event: JobEvent): void | Promise<void>
  /** Calls `listener` for every event; returns the function that stops it. */
  subscribe(listener: JobEventListener): () => void
}

const local: JobEventOrigin = Object.freeze({ local: true })

/**
 * The port for job events. Without a provider the jobs component uses an in-process sink: events
 * reach listeners of the instance that ran the job only. `busJobEvents()` from `@plinth/jobs/bus`
 * provides it on the app's event bus, so every instance hears every job's events.
 *
 * @example
 * export const app = createApp({ name: 'learning', components: [messaging(), busJobEvents(), jobs()] })
 */
export const JobEvents = token('job-events').of<JobEventSink>()

/**
 * An in-process event sink: listeners are called synchronously, and one that throws does not stop
 * the others. Every event it hears is local; `remote` hands listeners an event of another
 * instance (the bus sink uses it).
 *
 * @example
 * const events = localJobEvents()
 * const stop = events.subscribe((e) => console.log(e.type, e.id))
 * stop()
 */
export function localJobEvents(): JobEventSink & { deliver(event: JobEvent, origin: JobEventOrigin): void } {
  const listeners = new Set<JobEventListener>()
  const deliver = (event: JobEvent, origin: JobEventOrigin) => {
    for (const listener of [...listeners]) {
      try {
        listener(event, origin)
      } catch {
        // A listener's failure is its own; the job and the other listeners go on.
      }
    }
  }
  return {
    publish: (event) => deliver(event, local),
    deliver,
    subscribe(listener) {
      // A wrapper, so that one function subscribed twice is two subscriptions.
      const entry: JobEventListener = (event, origin) => listener(event, origin)
      listeners.add(entry)
      return () => listeners.delete(entry)
    },
  }
}
