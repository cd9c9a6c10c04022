/**
 * Announcements every instance hears: a topic read by each instance in a consumer group of its
 * own (so each gets every message), with the publishing instance named in a header, so that a
 * listener can skip what its own instance announced (it heard that in process already). The
 * event store's append announcements and the job events ride on it.
 */
import type { Bus } from './bus.js'
import type { Message, PublishOptions, Published, Subscription, Topic } from './contract.js'

/** The header naming the instance that published an announcement. */
export const originHeader = 'x-plinth-origin'

/**
 * A consumer group of this instance's own, for `purpose`: every instance that subscribes with it
 * receives every message. Remove it when done (`close(signal, { forget: true })`).
 *
 * @example
 * await bus.subscribe(Announcements, handle, { group: instanceGroup(bus, 'pubsub'), maxAttempts: 1 })
 */
export function instanceGroup(bus: Pick<Bus, 'instanceId'>, purpose: string): string {
  return `${purpose}-${bus.instanceId.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 100)
}

/** Where an announcement came from, as its listener hears it. */
export interface AnnouncementOrigin {
  /** Always false: announcements of this instance are skipped. */
  readonly local: false
  /** The id of the instance that announced it. */
  readonly instance: string
}

/**
 * A topic on which every instance announces and every other instance listens. Delivery is at
 * most once per listening instance and only from the moment it listens: an announcement says
 * "look now", and a listener that missed one still finds the change where it is kept (the store,
 * the queue). Messages of this instance are not handed back to it.
 *
 * @example
 * const appended = new Announcements(bus, topic('plinth.events.appended').of<Appended>(), 'events')
 * await appended.listen((payload, origin) => console.log(`${origin.instance} appended to ${payload.stream}`))
 * await appended.announce({ stream: 'device-7', version: 3 })
 * await appended.close()
 */
export class Announcements<T> {
  readonly #bus: Bus
  readonly #topic: Topic<T>
  readonly #group: string
  #subscription: Subscription | undefined

  constructor(bus: Bus, topic: Topic<T>, purpose: string) {
    this.#bus = bus
    this.#topic = topic
    this.#group = instanceGroup(bus, purpose)
  }

  /** This instance's id, as other instances see it in `origin.instance`. */
  get instance(): string {
    return this.#bus.instanceId
  }

  /** Publishes to every other instance; resolves once the broker has it. */
  announce(payload: T, options: PublishOptions = {}): Promise<Published> {
    return this.#bus.publish(this.#topic, payload, { ...options, headers: { ...options.headers, [originHeader]: this.#bus.instanceId } })
  }

  /** Starts hearing the other instances' announcements. A listener that throws loses that one announcement (a warning, no retry, no dead letter). */
  async listen(listener: (payload: T, origin: AnnouncementOrigin, message: Message<T>) => void | Promise<void>, options: { concurrency?: number } = {}): Promise<void> {
    if (this.#subscription !== undefined) return
    const self = this.#bus.instanceId
    this.#subscription = await this.#bus.subscribe(
      this.#topic,
      async (message) => {
        const from = message.headers[originHeader]
        if (from === self) return
        try {
          await listener(message.payload, { local: false, instance: from ?? 'unknown' }, message)
        } catch (error) {
          // An announcement is a hint, not work to retry: a failed listener must not fill the dead-letter queue.
          process.emitWarning(`a listener of "${message.topic}" threw: ${error instanceof Error ? error.message : String(error)}`, 'PlinthWarning')
        }
      },
      { group: this.#group, concurrency: options.concurrency ?? 16, maxAttempts: 1 },
    )
  }

  /** Stops listening and removes this instance's group from the broker. */
  async close(signal?: AbortSignal): Promise<void> {
    const subscription = this.#subscription
    this.#subscription = undefined
    await subscription?.close(signal, { forget: true })
  }
}
