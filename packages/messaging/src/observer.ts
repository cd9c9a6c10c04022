/** What the bus reports as it works: the seam between the bus and its metrics. */

/** Hears every step of every message; the component's metrics implement it. */
export interface BusObserver {
  published(topic: string): void
  delivered(topic: string, group: string): void
  acked(topic: string, group: string): void
  retried(topic: string, group: string): void
  deadLettered(topic: string, group: string): void
  deduplicated(topic: string, group: string): void
  /** A handler's run, in seconds, and whether it succeeded. */
  handled(topic: string, group: string, seconds: number, ok: boolean): void
}

/** An observer that records nothing (the default). */
export const silentObserver: BusObserver = {
  published: () => {},
  delivered: () => {},
  acked: () => {},
  retried: () => {},
  deadLettered: () => {},
  deduplicated: () => {},
  handled: () => {},
}
