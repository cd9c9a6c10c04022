/**
 * The contract every state store keeps (memory, Redis). State lives in buckets (the app's, one
 * per session) of fields; values are JSON text. A bucket must be opened before it is written,
 * and a dropped bucket refuses writes, so a request still running after a logout cannot bring
 * the session back. Every write is per field and atomic: two writers never overwrite each
 * other's change to another field, and compareAndSet settles races on one field.
 */

/** A change to a field, as watchers receive it (from this instance or another). */
export interface StateChange {
  readonly bucket: string
  readonly field: string
  /** set: written; delete: removed; expire: its TTL ran out. */
  readonly type: 'set' | 'delete' | 'expire'
  /** The new JSON text, for `set`. */
  readonly value: string | undefined
}

export type StateListener = (change: StateChange) => void

export interface StateStore {
  /** Opens a bucket (again): writable from now on, dropped after `ttl` ms without a touch (no ttl: never). */
  open(bucket: string, ttl?: number): Promise<void>
  /** Whether a bucket is open; with `ttl`, restarts its expiry (a rolling session). */
  touch(bucket: string, ttl?: number): Promise<boolean>
  /** Drops a bucket and its fields; writes to it fail from now on, until it is opened again. */
  drop(bucket: string): Promise<void>
  /** A field's JSON text, or undefined when absent or expired. */
  get(bucket: string, field: string): Promise<string | undefined>
  /** Writes a field, with its own TTL (ms) when given; rejects with PLINTH_ERR_STATE_SESSION_ENDED when the bucket is not open. */
  set(bucket: string, field: string, value: string, ttl?: number): Promise<void>
  /** Removes a field; resolves to whether it was there. */
  delete(bucket: string, field: string): Promise<boolean>
  /**
   * Writes `next` (or removes the field when undefined) only if the field holds `expected`
   * (undefined: absent). Resolves to whether it wrote; rejects when the bucket is not open.
   */
  compareAndSet(bucket: string, field: string, expected: string | undefined, next: string | undefined, ttl?: number): Promise<boolean>
  /** Calls `listener` on every change of a field (or of every field of the bucket), on any instance. */
  watch(bucket: string, field: string | undefined, listener: StateListener): Promise<() => Promise<void>>
  /** Connects, for stores with a server; called at start. */
  connect?(): Promise<void>
  /** Whether the store can serve (Redis reachable), for health. */
  readonly available: boolean
  /** Releases connections and timers. */
  close(): Promise<void>
}

/** Listeners by `bucket\nfield` (and `bucket\n` for a whole bucket); shared by the stores. */
export class Watchers {
  readonly #listeners = new Map<string, Set<StateListener>>()

  add(bucket: string, field: string | undefined, listener: StateListener): () => void {
    const id = `${bucket}\n${field ?? ''}`
    let set = this.#listeners.get(id)
    if (set === undefined) this.#listeners.set(id, (set = new Set()))
    const entry: StateListener = (change) => listener(change)
    set.add(entry)
    return () => {
      set.delete(entry)
      if (set.size === 0 && this.#listeners.get(id) === set) this.#listeners.delete(id)
    }
  }

  get size(): number {
    return this.#listeners.size
  }

  emit(change: StateChange): void {
    for (const id of [`${change.bucket}\n${change.field}`, `${change.bucket}\n`]) {
      const set = this.#listeners.get(id)
      if (set === undefined) continue
      for (const listener of [...set]) {
        try {
          listener(change)
        } catch (error) {
          process.emitWarning(`a state watcher of "${change.bucket}/${change.field}" threw: ${String(error)}`, 'PlinthWarning')
        }
      }
    }
  }
}
