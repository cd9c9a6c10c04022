/**
 * The event store's contract: what a stream is, what an appended event carries, and the
 * operations every backend (SQL through @plinth/db, Redis Streams) provides with one behaviour,
 * pinned by one conformance suite.
 */

/** Who caused an event and why: carried with it, for tracing a change back to its request. */
export interface EventMetadata {
  readonly correlationId?: string
  readonly causationId?: string
  readonly user?: string
  readonly [key: string]: unknown
}

/** An event to append. */
export interface NewEvent<Data = unknown> {
  readonly type: string
  readonly data: Data
  readonly metadata?: EventMetadata
  /** Unique across the store; generated when left out. Appending an id twice is refused. */
  readonly id?: string
}

/** An event as the store recorded it. */
export interface RecordedEvent<Data = unknown> {
  readonly id: string
  readonly stream: string
  readonly type: string
  readonly data: Data
  readonly metadata: EventMetadata
  /** Its place in its stream: 1 for the first event. */
  readonly version: number
  /** Its place in the whole store: increases with every append, in the order appends became visible. */
  readonly position: number
  readonly time: Date
}

/**
 * What the writer believes the stream's version is: a number (0 for a stream with no events),
 * `'no-stream'` (same as 0), `'stream-exists'` (any version above 0), or `'any'` (no check).
 */
export type ExpectedVersion = number | 'no-stream' | 'stream-exists' | 'any'

export interface AppendOptions {
  /** Default `'any'`. */
  readonly expectedVersion?: ExpectedVersion
}

export interface AppendResult {
  /** The stream's version after the append: the version of its last event. */
  readonly version: number
  /** The global position of the last event appended, for read-your-writes. */
  readonly position: number
}

/** One event of an append, as announced: enough to tell who should look, without the data. */
export interface AppendedEvent {
  readonly id: string
  readonly type: string
  readonly version: number
  readonly position: number
}

/**
 * What one append wrote, as the store announces it to listeners: the stream, its version and
 * the last global position after the append (as `AppendResult`), and each event's id, type,
 * version and position.
 */
export interface Appended extends AppendResult {
  readonly stream: string
  readonly events: readonly AppendedEvent[]
}

/** Where an announced append was made: through this store (`local`), or through another instance that announced it on the event bus. */
export interface AppendOrigin {
  readonly local: boolean
  /** The announcing instance's id, for an append made elsewhere. */
  readonly instance?: string
}

/** Hears appends: made through this instance, and (with `@plinth/cqrs/bus`) through others. */
export type AppendListener = (appended: Appended, origin: AppendOrigin) => void

export interface ReadStreamOptions {
  /** First version to read (inclusive). Default 1 forwards, the last version backwards. */
  readonly from?: number
  readonly direction?: 'forwards' | 'backwards'
  /** Default: every event. */
  readonly limit?: number
}

export interface ReadAllOptions {
  /** Read events after this global position (exclusive). Default 0: from the start. */
  readonly after?: number
  /** Default 1 000. */
  readonly limit?: number
}

/**
 * An event store: streams of events with optimistic concurrency, read by stream or across the
 * whole store in global order, and durable named checkpoints for the subscriptions that follow it.
 */
export interface EventStore {
  /** Appends events to a stream in one atomic step; rejects with PLINTH_ERR_EVENTS_CONFLICT when the stream is not at `expectedVersion`. */
  append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>
  readStream<Data = unknown>(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent<Data>[]>
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>
  /** The stream's version: 0 when it has no events. */
  streamVersion(stream: string): Promise<number>
  /** The global position of the last visible event: 0 for an empty store. */
  headPosition(): Promise<number>
  /** A subscription's saved position: 0 when it never saved one. */
  readCheckpoint(name: string): Promise<number>
  saveCheckpoint(name: string, position: number): Promise<void>
  /**
   * Calls `listener` after each append made through this instance, and after each append another
   * instance announced (`notifyAppended`): subscriptions wake on it instead of waiting to poll.
   */
  onAppended(listener: AppendListener): () => void
  /** Tells this instance's listeners about an append made elsewhere (`@plinth/cqrs/bus` calls it for each announcement it receives). */
  notifyAppended(appended: Appended, origin: AppendOrigin): void
  close(): Promise<void>
}
