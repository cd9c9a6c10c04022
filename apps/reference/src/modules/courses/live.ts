/**
 * Job events to clients: every event goes to the WebSocket topics `job:<id>` and `jobs:<name>` (through the
 * WebSocket pub/sub, so subscribers on every instance get it), and to this instance's GraphQL
 * subscriptions.
 */
import { component, Logger } from '@plinth/core'
import { Jobs, type JobEvent } from '@plinth/jobs'
import { WsBroadcast } from '@plinth/ws'

export const jobTopic = (id: string) => `job:${id}`
/** Every job of one name: for dashboards, and for clients that subscribe before they know the id. */
export const jobNameTopic = (name: string) => `jobs:${name}`

/** Forwards job events to WebSocket topics from start to stop. */
export const jobBroadcast = component('job-broadcast', {
  eager: true,
  deps: { jobs: Jobs, ws: WsBroadcast, log: Logger },
  create: ({ jobs, ws, log }) => ({
    unsubscribe: jobs.subscribe((event: JobEvent) => {
      for (const topic of [jobTopic(event.id), jobNameTopic(event.name)]) {
        ws.broadcast(topic, event).catch((error: unknown) => log.warn({ err: error, jobId: event.id, topic }, 'could not broadcast a job event'))
      }
    }),
  }),
  stop: (self) => {
    self.unsubscribe()
  },
})
