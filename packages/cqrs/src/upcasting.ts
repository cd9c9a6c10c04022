/**
 * Upcasting: event types change shape over a service's life, but stored events do not. An event
 * type declares its current schema version and how each older version's data becomes the next;
 * the store records the version an event was written at, and reads always hand out the current
 * shape, so handlers and projections know one shape only.
 */
import type { AppendOptions, AppendResult, EventStore, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent } from './contract.js'
import { cqrsErrors } from './errors.js'

export interface EventSchema {
  /** The current version of the type's data. Events appended now are recorded with it. */
  readonly version: number
  /** `upcast[n]` turns data of version n into version n + 1, for every n below `version`. */
  readonly upcast: Readonly<Record<number, (data: any) => unknown>>
}

/** Metadata key under which the schema version of an event's data is recorded. */
export const schemaVersionKey = 'schemaVersion'

/**
 * Checks the declarations once, so a missing step fails at start-up and not at the first old event.
 *
 * @example
 * const schemas = eventSchemas({ 'device.registered': { version: 2, upcast: { 1: (d) => ({ ...d, room: d.location ?? null }) } } })
 */
export function eventSchemas(schemas: Readonly<Record<string, EventSchema>>): Readonly<Record<string, EventSchema>> {
  for (const [type, schema] of Object.entries(schemas)) {
    if (!Number.isSafeInteger(schema.version) || schema.version < 1) throw cqrsErrors.create('PLINTH_ERR_EVENTS_UPCAST', `event type "${type}" has version ${schema.version}; versions are whole numbers from 1`)
    for (let from = 1; from < schema.version; from++) {
      if (typeof schema.upcast[from] !== 'function') throw cqrsErrors.create('PLINTH_ERR_EVENTS_UPCAST', `event type "${type}" is at version ${schema.version} but has no upcaster from version ${from} (upcast: { ${from}: (data) => ... })`)
    }
  }
  return schemas
}

function upcast(event: RecordedEvent, schemas: Readonly<Record<string, EventSchema>>): RecordedEvent {
  const schema = schemas[event.type]
  if (schema === undefined) return event
  const recorded = event.metadata[schemaVersionKey]
  let version = typeof recorded === 'number' ? recorded : 1
  if (version === schema.version) return event
  if (version > schema.version) {
    throw cqrsErrors.create('PLINTH_ERR_EVENTS_UPCAST', `event ${event.position} (${event.type}) was written at version ${version}, newer than this service's ${schema.version}: deploy the newer code everywhere, or roll back the writer`)
  }
  let data: unknown = event.data
  for (; version < schema.version; version++) {
    try {
      data = schema.upcast[version]!(data)
    } catch (error) {
      throw cqrsErrors.create('PLINTH_ERR_EVENTS_UPCAST', `upcasting event ${event.position} (${event.type}) from version ${version} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
  return { ...event, data, metadata: { ...event.metadata, [schemaVersionKey]: schema.version } }
}

/**
 * Wraps a store so that appends record each type's current schema version and reads upcast
 * older events to it.
 *
 * @example
 * const store = withUpcasting(new SqlEventStore(db.kysely, { dialect: db.dialect }), schemas)
 * const [registered] = await store.readStream('device-7') // always version 2's shape
 */
export function withUpcasting(store: EventStore, schemas: Readonly<Record<string, EventSchema>>): EventStore {
  const checked = eventSchemas(schemas)
  const stamp = (event: NewEvent): NewEvent => {
    const schema = checked[event.type]
    return schema === undefined ? event : { ...event, metadata: { ...event.metadata, [schemaVersionKey]: schema.version } }
  }
  return {
    append: (stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> => store.append(stream, events.map(stamp), options),
    readStream: async <Data>(stream: string, options?: ReadStreamOptions) => (await store.readStream(stream, options)).map((event) => upcast(event, checked) as RecordedEvent<Data>),
    readAll: async (options?: ReadAllOptions) => (await store.readAll(options)).map((event) => upcast(event, checked)),
    streamVersion: (stream) => store.streamVersion(stream),
    headPosition: () => store.headPosition(),
    readCheckpoint: (name) => store.readCheckpoint(name),
    saveCheckpoint: (name, position) => store.saveCheckpoint(name, position),
    onAppended: (listener) => store.onAppended(listener),
    notifyAppended: (appended, origin) => store.notifyAppended(appended, origin),
    close: () => store.close(),
  }
}
