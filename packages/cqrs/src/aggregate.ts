/**
 * Loading an aggregate's state from its stream, with optional snapshots for long streams: the
 * state is folded from the last snapshot plus the events after it, and a new snapshot is taken
 * once enough events have passed, so a stream of 100,000 events loads in a few reads.
 */
import type { Kysely } from 'kysely'
import type { EventStore, RecordedEvent } from './contract.js'
import { eventTables as t } from './schema.js'
import { checkStream } from './validate.js'

export interface Snapshot<State> {
  readonly version: number
  readonly state: State
}

/** Where snapshots are kept: `SqlSnapshots` on the app's database, or your own. */
export interface SnapshotStore {
  load<State>(stream: string): Promise<Snapshot<State> | undefined>
  save<State>(stream: string, snapshot: Snapshot<State>): Promise<void>
}

/**
 * Snapshots in the event store's own tables.
 *
 * @example
 * const snapshots = new SqlSnapshots(db.kysely)
 */
export class SqlSnapshots implements SnapshotStore {
  readonly #db: Kysely<any>
  constructor(db: Kysely<any>) {
    this.#db = db
  }

  async load<State>(stream: string): Promise<Snapshot<State> | undefined> {
    const row = await this.#db.selectFrom(t.snapshots).select(['version', 'state']).where('stream', '=', stream).executeTakeFirst()
    return row === undefined ? undefined : { version: Number(row.version), state: JSON.parse(row.state as string) as State }
  }

  async save<State>(stream: string, snapshot: Snapshot<State>): Promise<void> {
    const values = { stream, version: snapshot.version, state: JSON.stringify(snapshot.state), taken_at: new Date().toISOString() }
    await this.#db
      .insertInto(t.snapshots)
      .values(values)
      .onConflict((oc) => oc.column('stream').doUpdateSet({ version: values.version, state: values.state, taken_at: values.taken_at }))
      .execute()
  }
}

export interface AggregateDefinition<State> {
  readonly initial: () => State
  /** The next state after one event. Pure: it runs again whenever the aggregate loads. */
  readonly evolve: (state: State, event: RecordedEvent) => State
  /** Take a snapshot once this many events have passed since the last one. */
  readonly snapshots?: { readonly store: SnapshotStore; readonly every: number }
}

export interface LoadedAggregate<State> {
  readonly state: State
  /** The stream's version the state reflects: pass it as `expectedVersion` to the next append. */
  readonly version: number
  /** Events folded in this load (after the snapshot, if any). */
  readonly replayed: number
}

/**
 * Loads an aggregate: snapshot (if any), then the events after it, page by page.
 *
 * @example
 * const { state, version } = await loadAggregate(store, 'device-7', { initial: () => ({ name: '' }), evolve })
 * await store.append('device-7', decide(state, command), { expectedVersion: version })
 */
export async function loadAggregate<State>(store: EventStore, stream: string, definition: AggregateDefinition<State>): Promise<LoadedAggregate<State>> {
  checkStream(stream)
  const snapshot = await definition.snapshots?.store.load<State>(stream)
  let state = snapshot?.state ?? definition.initial()
  let version = snapshot?.version ?? 0
  let replayed = 0
  for (;;) {
    const page = await store.readStream(stream, { from: version + 1, limit: 1_000 })
    for (const event of page) state = definition.evolve(state, event)
    replayed += page.length
    if (page.length > 0) version = page.at(-1)!.version
    if (page.length < 1_000) break
  }
  if (definition.snapshots && version - (snapshot?.version ?? 0) >= definition.snapshots.every) {
    await definition.snapshots.store.save(stream, { version, state })
  }
  return { state, version, replayed }
}
