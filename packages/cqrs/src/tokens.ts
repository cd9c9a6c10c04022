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
export const EventStore = token('event-store').of<EventStore>()
// An interface of this module (not an alias of the contract's) so that the token's type can be
// named from the package's entry point in the declarations of the apps that use it.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EventStore extends Store {}

/**
 * Projections the app runs: contribute each with `provide(Projections, { value: projection({...}) })`.
 *
 * @example
 * export const deviceListProjection = provide(Projections, { value: deviceList })
 */
export const Projections = token('projections').many<ProjectionDefinition>()
