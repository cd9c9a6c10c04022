/**
 * The memory store: one process's state, with timers for per-field and per-bucket expiry.
 * Watchers are called a microtask after the change, as a network store's would be.
 */
import { stateErrors } from './errors.js'
import { Watchers, type StateChange, type StateListener, type StateStore } from './store.js'

interface Field {
  value: string
  timer: NodeJS.Timeout | undefined
}

interface Bucket {
  readonly fields: Map<string, Field>
  timer: NodeJS.Timeout | undefined
}

/**
 * State in this process's memory: for tests and single-instance services.
 *
 * @example
 * const store = new MemoryStateStore()
 * await store.open('app')
 * await store.set('app', 'visits', '1')
 */
export class MemoryStateStore implements StateStore {
  readonly available = true
  readonly #buckets = new Map<string, Bucket>()
  readonly #watchers = new Watchers()

  open(bucket: string, ttl?: number): Promise<void> {
    let open = this.#buckets.get(bucket)
    if (open === undefined) this.#buckets.set(bucket, (open = { fields: new Map(), timer: undefined }))
    this.#expireBucket(bucket, open, ttl)
    return Promise.resolve()
  }

  touch(bucket: string, ttl?: number): Promise<boolean> {
    const open = this.#buckets.get(bucket)
    if (open !== undefined && ttl !== undefined) this.#expireBucket(bucket, open, ttl)
    return Promise.resolve(open !== undefined)
  }

  drop(bucket: string): Promise<void> {
    const open = this.#buckets.get(bucket)
    if (open !== undefined) {
      clearTimeout(open.timer)
      for (const field of open.fields.values()) clearTimeout(field.timer)
      this.#buckets.delete(bucket)
    }
    return Promise.resolve()
  }

  get(bucket: string, field: string): Promise<string | undefined> {
    return Promise.resolve(this.#buckets.get(bucket)?.fields.get(field)?.value)
  }

  set(bucket: string, field: string, value: string, ttl?: number): Promise<void> {
    try {
      this.#write(this.#live(bucket), bucket, field, value, ttl)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  delete(bucket: string, field: string): Promise<boolean> {
    const open = this.#buckets.get(bucket)
    const current = open?.fields.get(field)
    if (open === undefined || current === undefined) return Promise.resolve(false)
    this.#remove(open, bucket, field, 'delete')
    return Promise.resolve(true)
  }

  compareAndSet(bucket: string, field: string, expected: string | undefined, next: string | undefined, ttl?: number): Promise<boolean> {
    let open: Bucket
    try {
      open = this.#live(bucket)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    if (open.fields.get(field)?.value !== expected) return Promise.resolve(false)
    if (next === undefined) {
      if (expected !== undefined) this.#remove(open, bucket, field, 'delete')
    } else this.#write(open, bucket, field, next, ttl)
    return Promise.resolve(true)
  }

  watch(bucket: string, field: string | undefined, listener: StateListener): Promise<() => Promise<void>> {
    const off = this.#watchers.add(bucket, field, listener)
    return Promise.resolve(() => {
      off()
      return Promise.resolve()
    })
  }

  close(): Promise<void> {
    for (const bucket of [...this.#buckets.keys()]) void this.drop(bucket)
    return Promise.resolve()
  }

  #live(bucket: string): Bucket {
    const open = this.#buckets.get(bucket)
    if (open === undefined) throw stateErrors.create('PLINTH_ERR_STATE_SESSION_ENDED', `state bucket "${bucket}" is not open (ended or expired); it cannot be written`)
    return open
  }

  #write(open: Bucket, bucket: string, field: string, value: string, ttl: number | undefined): void {
    const previous = open.fields.get(field)
    clearTimeout(previous?.timer)
    const timer = ttl === undefined ? undefined : setTimeout(() => this.#remove(open, bucket, field, 'expire'), ttl).unref()
    open.fields.set(field, { value, timer })
    this.#emit({ bucket, field, type: 'set', value })
  }

  #remove(open: Bucket, bucket: string, field: string, type: 'delete' | 'expire'): void {
    clearTimeout(open.fields.get(field)?.timer)
    open.fields.delete(field)
    this.#emit({ bucket, field, type, value: undefined })
  }

  #expireBucket(bucket: string, open: Bucket, ttl: number | undefined): void {
    clearTimeout(open.timer)
    open.timer = ttl === undefined ? undefined : setTimeout(() => void this.drop(bucket), ttl).unref()
  }

  #emit(change: StateChange): void {
    if (this.#watchers.size > 0) queueMicrotask(() => this.#watchers.emit(change))
  }
}
