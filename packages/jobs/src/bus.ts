/**
 * @plinth/jobs/bus: job events on the app's event bus (@plinth/messaging), so that progress and
 * completion of a job run by a worker on instance A reach listeners (WebSocket, GraphQL
 * subscriptions) on instance B. A separate entry point, so the jobs package works without
 * messaging installed.
 *
 * Each instance hands its own events to its listeners in process (as `localJobEvents()` does,
 * `origin.local` true) and announces them on the topic `plinth.jobs.events`; it hears the other
 * instances' announcements and hands them to its listeners with `origin.local` false. Delivery
 * across instances is at most once and only while listening: a client that must not miss the
 * final state reads it from the queue (`get(id)`, the polling fallback), where it is kept.
 */
import { provide, type Provider } from '@plinth/core'
import { Announcements, MessageBus, topic, type Bus, type Topic } from '@plinth/messaging'
import { JobEvents, localJobEvents, type JobEvent, type JobEventListener, type JobEventSink } from './events.js'

/**
 * The topic job events travel on between instances.
 *
 * @example
 * await bus.subscribe(JobEventsTopic, ({ payload }) => audit(payload), { group: 'job-audit' })
 */
export const JobEventsTopic: Topic<JobEvent> = topic('plinth.jobs.events').of<JobEvent>()

/**
 * A job event sink on the bus: the `JobEvents` port that `busJobEvents()` provides.
 *
 * @example
 * const events = new BusJobEvents(bus)
 * await events.start()
 * events.subscribe((event, origin) => console.log(event.type, origin.local ? 'here' : `on ${origin.instance}`))
 */
export class BusJobEvents implements JobEventSink {
  readonly #local = localJobEvents()
  readonly #announcements: Announcements<JobEvent>
  // Announcements leave one after the other, so that every instance hears a job's events in order.
  #tail: Promise<unknown> = Promise.resolve()

  constructor(bus: Bus, options: { topic?: Topic<JobEvent> } = {}) {
    this.#announcements = new Announcements(bus, options.topic ?? JobEventsTopic, 'job-events')
  }

  /** Starts hearing the other instances' events. */
  async start(): Promise<void> {
    // One at a time: a job's progress must not overtake its completion on the listening side.
    await this.#announcements.listen((event, origin) => this.#local.deliver(event, origin), { concurrency: 1 })
  }

  /** Hands the event to this instance's listeners, then announces it; resolves once the broker has it (the jobs component logs a failure). */
  publish(event: JobEvent): Promise<void> {
    this.#local.deliver(event, { local: true })
    const sent = this.#tail.then(() => this.#announcements.announce(event, { key: event.id }))
    this.#tail = sent.catch(() => undefined)
    return sent.then(() => undefined)
  }

  subscribe(listener: JobEventListener): () => void {
    return this.#local.subscribe(listener)
  }

  /** Lets announcements in flight reach the broker, then stops hearing the other instances. */
  async close(signal?: AbortSignal): Promise<void> {
    await this.#tail
    await this.#announcements.close(signal)
  }
}

const deps = { bus: MessageBus }

/**
 * Provides `JobEvents` on the app's event bus; add it beside `messaging()` and `jobs()`.
 *
 * @example
 * export const app = createApp({
 *   name: 'learning',
 *   components: [database(), messaging(), busJobEvents(), jobsMigrations, jobs()],
 * })
 */
export function busJobEvents(options: { topic?: Topic<JobEvent> } = {}): Provider<JobEventSink, 'job-events', typeof deps> {
  return provide(JobEvents, {
    deps,
    create: ({ bus }) => new BusJobEvents(bus, options),
    start: (sink) => (sink as BusJobEvents).start(),
    stop: (sink, { signal }) => (sink as BusJobEvents).close(signal),
  })
}
