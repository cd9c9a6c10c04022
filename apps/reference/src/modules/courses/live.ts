/**
 * Job events to clients: every event of a job run here goes to the WebSocket topics `job:<id>`
 * and `jobs:<name>` (through the WebSocket pub/sub, so subscribers on every instance get it).
 * GraphQL subscriptions follow the jobs' events themselves (graphql.ts), which carry every
 * instance's events with `busJobEvents()`.
 */
import { component, describeError, Logger } from '@plinth/core'
import { Jobs, type JobEvent } from '@plinth/jobs'
import { WsBroadcast } from '@plinth/ws'

export const jobTopic = (id: string) => `job:${id}`
/** Every job of one name: for dashboards, and for clients that subscribe before they know the id. */
export const jobNameTopic = (name: string) => `jobs:${name}`

/**
 * Forwards this instance's job events to WebSocket topics from start to stop. Events of other
 * instances (heard through `busJobEvents()`) are not forwarded: the instance where they happened
 * broadcast them already, and the WebSocket pub/sub on the bus carried them here, so forwarding
 * them again would send each event twice.
 */
export const jobBroadcast = component('job-broadcast', {
  eager: true,
  deps: { jobs: Jobs, ws: WsBroadcast, log: Logger },
  create: ({ jobs, ws, log }) => ({
    unsubscribe: jobs.subscribe((event: JobEvent, origin) => {
      if (!origin.local) return
      for (const topic of [jobTopic(event.id), jobNameTopic(event.name)]) {
        ws.broadcast(topic, event).catch((error: unknown) => log.warn({ reason: describeError(error), jobId: event.id, topic }, `could not broadcast a job event (${describeError(error)})`))
      }
    }),
  }),
  stop: (self) => {
    self.unsubscribe()
  },
})
