/**
 * Dedupe stores: remember which messages a group has handled, by message id, so that a message
 * delivered again (after a takeover, a lost ack, a replay) is acknowledged without running its
 * handler twice.
 */

/**
 * Where a group's handled message ids are kept. `remember` runs after the handler succeeded and
 * before the acknowledgement, so a crash between the two costs a skipped redelivery, not a
 * second run.
 */
export interface DedupeStore {
  seen(group: string, id: string): Promise<boolean>
  remember(group: string, id: string): Promise<void>
}

/**
 * An in-process dedupe store that keeps the most recent `capacity` ids per group (oldest
 * forgotten first). Enough for one instance; use `databaseDedupe` when several instances share
 * a group.
 *
 * @example
 * const bus = new Bus({ broker: new MemoryBroker(), dedupe: new MemoryDedupe() })
 */
export class MemoryDedupe implements DedupeStore {
  readonly #groups = new Map<string, Set<string>>()
  readonly #capacity: number

  constructor(options: { capacity?: number } = {}) {
    this.#capacity = options.capacity ?? 100_000
  }

  seen(group: string, id: string): Promise<boolean> {
    return Promise.resolve(this.#groups.get(group)?.has(id) ?? false)
  }

  remember(group: string, id: string): Promise<void> {
    let ids = this.#groups.get(group)
    if (ids === undefined) this.#groups.set(group, (ids = new Set()))
    ids.add(id)
    // A Set iterates in insertion order: the first is the oldest.
    if (ids.size > this.#capacity) ids.delete(ids.values().next().value!)
    return Promise.resolve()
  }
}
