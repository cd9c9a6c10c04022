/**
 * The package's tokens, in a leaf of their own: the store, its components and the query cache
 * all depend on them, and on nothing else of each other through them.
 */
import { token } from '@plinth/core'
import type { EventStore as Store } from './contract.js'
import type { ProjectionDefinition } from './projection.js'

/**
 * The app's event store.
 *
 * @example
 * component('devices', { deps: { events: EventStore }, create: ({ events }) => new Devices(events) })
 */
export const EventStore = token('event-store').of<Store>()
export type EventStore = Store

/**
 * Projections the app runs: contribute each with `provide(Projections, { value: projection({...}) })`.
 *
 * @example
 * export const deviceListProjection = provide(Projections, { value: deviceList })
 */
export const Projections = token('projections').many<ProjectionDefinition>()
