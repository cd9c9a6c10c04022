/**
 * @plinth/cqrs/bus: the event store's appends announced on the event bus (@plinth/messaging), so
 * that other instances react at once. Each instance publishes what it appended (stream, versions,
 * global positions, event types) to `plinth.events.appended` and hears the others': their
 * subscriptions and projections wake instead of waiting for their next poll, and `onAppended`
 * listeners hear remote appends with `origin.local === false`. A separate entry point, so that
 * the store works without messaging installed.
 *
 * An announcement is a signal, not the record: it is published after the append commits, so a
 * process that dies in between announces nothing, and an instance hears only what is announced
 * while it listens. Work that must happen once per event belongs in a subscription (durable,
 * checkpointed); the announcement only makes it prompt on every instance.
 */
import { component, describeError, Logger, type Provider } from '@plinth/core'
import { Announcements, MessageBus, topic, type Bus, type Topic } from '@plinth/messaging'
import type { Appended, EventStore as Store } from './contract.js'
import { EventStore } from './tokens.js'

/**
 * The topic appends are announced on. Subscribe to it in a consumer group of your own to react to
 * appends once across the instances (each announcement to one member of the group).
 *
 * @example
 * await bus.subscribe(EventsAppended, ({ payload }) => notify(payload.stream, payload.events.map((e) => e.type)), { group: 'notifier' })
 */
export const EventsAppended: Topic<Appended> = topic('plinth.events.appended').of<Appended>()

/** One instance's announcer: publishes its store's appends, and feeds the others' into its store's listeners. */
export class AppendAnnouncer {
  readonly #store: Store
  readonly #announcements: Announcements<Appended>
  readonly #log: Pick<Logger, 'warn'> | undefined
  #off: (() => void) | undefined
  readonly #inFlight = new Set<Promise<unknown>>()

  constructor(store: Store, bus: Bus, options: { topic?: Topic<Appended>; log?: Pick<Logger, 'warn'> } = {}) {
    this.#store = store
    this.#announcements = new Announcements(bus, options.topic ?? EventsAppended, 'events-appended')
    this.#log = options.log
  }

  /**
   * Starts: hears other instances' appends, and announces this one's.
   *
   * @example
   * const announcer = new AppendAnnouncer(store, bus)
   * await announcer.start()
   * await announcer.stop()
   */
  async start(): Promise<void> {
    await this.#announcements.listen((appended, origin) => this.#store.notifyAppended(appended, origin))
    this.#off ??= this.#store.onAppended((appended, origin) => {
      if (!origin.local) return
      const sent = this.#announcements
        .announce(appended, { key: appended.stream })
        .catch((error: unknown) => this.#log?.warn({ reason: describeError(error), stream: appended.stream, position: appended.position }, `could not announce an append on the event bus (${describeError(error)}); other instances see it at their next poll`))
        .finally(() => this.#inFlight.delete(sent))
      this.#inFlight.add(sent)
    })
  }

  /** Stops announcing, lets announcements in flight reach the broker, and stops hearing the others. */
  async stop(signal?: AbortSignal): Promise<void> {
    this.#off?.()
    this.#off = undefined
    await Promise.all(this.#inFlight)
    await this.#announcements.close(signal)
  }
}

const deps = { store: EventStore, bus: MessageBus, log: Logger }

/**
 * Announces the app's appends on its event bus and hears the other instances'; add it beside
 * `...eventStore()` and `messaging()`.
 *
 * @example
 * export const app = createApp({
 *   name: 'devices',
 *   components: [database(), messaging(), ...eventStore(), announceAppends()],
 * })
 */
export function announceAppends(options: { topic?: Topic<Appended> } = {}): Provider<AppendAnnouncer, 'event-store-announcer', typeof deps> {
  return component('event-store-announcer', {
    eager: true,
    deps,
    create: ({ store, bus, log }) => new AppendAnnouncer(store, bus, { ...options, log }),
    start: (announcer) => announcer.start(),
    stop: (announcer, { signal }) => announcer.stop(signal),
  })
}
