/**
 * Projections: read models built from events. On the SQL store a projection's page of events and
 * its checkpoint are written in one transaction, so the read model never holds an event twice
 * or misses one, even across a crash; rebuilding clears the read model and replays from 0.
 */
import type { Kysely } from 'kysely'
import type { RecordedEvent } from './contract.js'
import type { SqlEventStore } from './sql-store.js'
import { Subscription, failedOn, type SubscriptionOptions } from './subscription.js'
import { checkName } from './validate.js'

export interface ProjectionDefinition {
  /** Names its checkpoint and `plinth projections rebuild NAME`. */
  readonly name: string
  /** The event types it reads; others pass by. Default: all. */
  readonly types?: readonly string[]
  /** Applies one event to the read model, with `db` bound to the page's transaction. */
  handle(event: RecordedEvent, db: Kysely<any>): void | Promise<void>
  /** Empties the read model before a rebuild, in the rebuild's transaction. */
  reset?(db: Kysely<any>): void | Promise<void>
}

/**
 * Declares a projection.
 *
 * @example
 * export const deviceList = projection({
 *   name: 'device-list',
 *   types: ['device.registered', 'device.renamed'],
 *   handle: (event, db) => db.insertInto('device_list').values(...).onConflict(...).execute(),
 *   reset: (db) => db.deleteFrom('device_list').execute(),
 * })
 */
export function projection(definition: ProjectionDefinition): ProjectionDefinition {
  checkName(definition.name, 'projection')
  return definition
}

/**
 * The checkpoint name of a projection, apart from plain subscriptions'.
 *
 * @example
 * await store.readCheckpoint(projectionCheckpoint('device-names'))
 */
export function projectionCheckpoint(name: string): string {
  return `projection:${name}`
}

/**
 * Runs a projection against the SQL store: each page is applied and checkpointed in one transaction.
 *
 * @example
 * const running = runProjection(store, deviceList)
 * running.start()
 */
export function runProjection(store: SqlEventStore, definition: ProjectionDefinition, options: Omit<SubscriptionOptions, 'name' | 'types'> = {}): Subscription {
  const types = definition.types ? new Set(definition.types) : undefined
  const name = projectionCheckpoint(definition.name)
  return new Subscription(store, { ...options, name }, (events, checkpoint, after) =>
    store.kysely.transaction().execute(async (trx) => {
      // The checkpoint row, locked: several instances may run one projection, and only the one
      // that finds the checkpoint where it read from applies the page; the others follow it.
      const stored = await store.lockCheckpoint(name, trx)
      if (stored !== after) return stored
      for (const event of events) {
        if (types && !types.has(event.type)) continue
        try {
          await definition.handle(event, trx)
        } catch (error) {
          throw failedOn(event, error)
        }
      }
      await store.saveCheckpoint(name, checkpoint, trx)
      return checkpoint
    }),
  )
}

/**
 * Empties a projection's read model and sets its checkpoint back to 0, in one transaction; run
 * it (or let the running app's projection catch up) to rebuild from the first event.
 *
 * @example
 * await resetProjection(store, deviceList)
 * const running = runProjection(store, deviceList); running.start(); await running.caughtUp(await store.headPosition())
 */
export async function resetProjection(store: SqlEventStore, definition: ProjectionDefinition): Promise<void> {
  await store.kysely.transaction().execute(async (trx) => {
    await definition.reset?.(trx)
    await store.saveCheckpoint(projectionCheckpoint(definition.name), 0, trx)
  })
}
