/**
 * Catch-up subscriptions: follow the store in global order from a durable checkpoint, so a
 * subscriber that stops (a deploy, a crash) resumes where it left off, not from zero and not
 * from now. Delivery is at least once: the checkpoint moves after the handler succeeds, so an
 * event whose handler was cut short is handled again. A handler that throws is retried with
 * backoff and never skipped: the subscription stays on that event, reports it in health, and
 * moves on once the handler (or the data it needs) is fixed.
 */
import type { EventStore, RecordedEvent } from './contract.js'
import { cqrsErrors } from './errors.js'
import { checkName } from './validate.js'

export interface SubscriptionOptions {
  /** Names the checkpoint: one name, one position, shared by every instance that runs it. */
  readonly name: string
  /** Only these event types reach the handler (the checkpoint still moves past the others). */
  readonly types?: readonly string[]
  /** Where a subscription with no checkpoint starts: every event (`'start'`, the default) or only new ones (`'end'`). */
  readonly from?: 'start' | 'end'
  /** Events read per page. Default 100. */
  readonly batchSize?: number
  /** How often to look for events appended through other instances. Default 250 ms. */
  readonly pollInterval?: number
  /** Called when a handler fails; the event is tried again after a backoff. */
  readonly onError?: (error: unknown, event: RecordedEvent) => void
}

/**
 * Handles one page of events read after `after` and saves the checkpoint; projections do both in
 * one transaction. It may resolve to the position to go on from, when it found that the
 * checkpoint had moved elsewhere (another instance handled the page, or a rebuild reset it).
 */
export type PageHandler = (events: readonly RecordedEvent[], checkpoint: number, after: number) => Promise<number | void>

export interface SubscriptionStatus {
  readonly name: string
  readonly position: number
  readonly running: boolean
  /** The error of the event it is stuck on, if any. */
  readonly failing?: { readonly position: number; readonly type: string; readonly error: string; readonly attempts: number }
}

/**
 * A running subscription. Start it once; `stop()` lets the page in hand finish.
 *
 * @example
 * const sub = subscribe(store, { name: 'mailer', types: ['order.placed'], handle: (e) => mail(e.data) })
 * sub.start()
 * await sub.caughtUp(result.position) // read-your-writes
 * await sub.stop()
 */
export class Subscription {
  readonly name: string
  readonly #store: EventStore
  readonly #options: SubscriptionOptions
  readonly #page: PageHandler
  #position = -1
  #running: Promise<void> | undefined
  #stopping = false
  #wake: (() => void) | undefined
  #backoffWake: (() => void) | undefined
  // Set by an append or stop() that came while no sleep was waiting, so the next sleep is skipped.
  #woken = false
  #failing: SubscriptionStatus['failing']
  readonly #waiters = new Set<{ position: number; resolve: () => void }>()

  constructor(store: EventStore, options: SubscriptionOptions, page: PageHandler) {
    checkName(options.name, 'subscription')
    this.name = options.name
    this.#store = store
    this.#options = options
    this.#page = page
  }

  /** Begins following the store in the background. */
  start(): void {
    if (this.#running) return
    this.#stopping = false
    const off = this.#store.onAppended(() => this.#rouse())
    this.#running = this.#loop().finally(off)
  }

  /** Stops after the page in hand; resolves when it has. */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#rouse()
    this.#backoffWake?.()
    await this.#running
    this.#running = undefined
  }

  /** Resolves once every event up to `position` has been handled, or rejects after `timeout` ms. */
  caughtUp(position: number, timeout = 5_000): Promise<void> {
    if (this.#position >= position) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter = { position, resolve: () => { clearTimeout(timer); resolve() } }
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter)
        reject(cqrsErrors.create('PLINTH_ERR_EVENTS_SUBSCRIPTION', `subscription "${this.name}" did not reach position ${position} within ${timeout} ms (it is at ${this.#position})`))
      }, timeout)
      this.#waiters.add(waiter)
    })
  }

  status(): SubscriptionStatus {
    return { name: this.name, position: Math.max(this.#position, 0), running: this.#running !== undefined, ...(this.#failing ? { failing: this.#failing } : {}) }
  }

  async #loop(): Promise<void> {
    const limit = this.#options.batchSize ?? 100
    let attempt = 0
    while (!this.#stopping) {
      let page: RecordedEvent[]
      this.#woken = false
      try {
        // Read in the retried part: a store that is down at start (an optional database) is waited for.
        if (this.#position < 0) {
          let saved = await this.#store.readCheckpoint(this.name)
          if (saved === 0 && this.#options.from === 'end') saved = await this.#store.headPosition()
          this.#position = saved
        }
        page = await this.#store.readAll({ after: this.#position, limit })
        if (page.length > 0) {
          const next = await this.#page(page, page.at(-1)!.position, this.#position)
          this.#advance(typeof next === 'number' ? next : page.at(-1)!.position)
          this.#failing = undefined
          attempt = 0
          continue
        }
      } catch (error) {
        attempt++
        const { event: failed, handledUpTo } = error as { event?: RecordedEvent; handledUpTo?: number }
        if (handledUpTo !== undefined && handledUpTo > this.#position) this.#advance(handledUpTo)
        if (failed) {
          this.#failing = { position: failed.position, type: failed.type, error: error instanceof Error ? error.message : String(error), attempts: attempt }
          this.#options.onError?.((error as { cause?: unknown }).cause ?? error, failed)
        }
        // Full jitter, 100 ms doubling to 30 s: many instances stuck on one event do not retry in step.
        await this.#backoff(Math.round(Math.random() * Math.min(30_000, 100 * 2 ** (attempt - 1))))
        continue
      }
      await this.#sleep(this.#options.pollInterval ?? 250)
    }
  }

  #advance(position: number): void {
    this.#position = position
    for (const waiter of this.#waiters) {
      if (waiter.position <= position) {
        this.#waiters.delete(waiter)
        waiter.resolve()
      }
    }
  }

  #rouse(): void {
    this.#woken = true
    this.#wake?.()
  }

  /** A wait that appends do not cut short (a poison event must not be retried on every append); stop() does. */
  #backoff(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#backoffWake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#backoffWake = done
    })
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#wake = done
    })
  }
}

/**
 * Marks which event a handler failed on, for the subscription's status, and up to where the page
 * was handled (and checkpointed) before it, so the retry starts at the failed event.
 */
export function failedOn(event: RecordedEvent, error: unknown, handledUpTo?: number): Error {
  return Object.assign(
    cqrsErrors.create('PLINTH_ERR_EVENTS_SUBSCRIPTION', `the handler failed on event ${event.position} (${event.type} in "${event.stream}"): ${error instanceof Error ? error.message : String(error)}`, { cause: error }),
    { event, handledUpTo },
  )
}

/**
 * Follows the store, calling `handle` for each event (at least once, in global order) and saving
 * the checkpoint after each page.
 *
 * @example
 * const sub = subscribe(store, { name: 'search-index', handle: (event) => index.add(event) })
 * sub.start()
 */
export function subscribe(store: EventStore, options: SubscriptionOptions & { handle(event: RecordedEvent): void | Promise<void> }): Subscription {
  const types = options.types ? new Set(options.types) : undefined
  return new Subscription(store, options, async (events, checkpoint) => {
    for (const event of events) {
      if (types && !types.has(event.type)) continue
      try {
        await options.handle(event)
      } catch (error) {
        // Save what was handled before the failure, so neither the retry nor a restart repeats it.
        const before = events[events.indexOf(event) - 1]?.position
        if (before !== undefined) await store.saveCheckpoint(options.name, before)
        throw failedOn(event, error, before)
      }
    }
    await store.saveCheckpoint(options.name, checkpoint)
  })
}
