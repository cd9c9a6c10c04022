import { provide } from '@plinth/core'
import { GraphQLSchemaParts, graphqlSchema } from '@plinth/graphql'
import { Jobs, type JobEvent, type JobQueue } from '@plinth/jobs'

const typeDefs = /* GraphQL */ `
  "Progress a job reported."
  type JobProgress {
    percent: Float!
    message: String
  }
  "Why a job failed."
  type JobFailure {
    message: String!
    code: String
  }
  "A background job: queued, active, completed, failed or cancelled."
  type Job {
    id: ID!
    name: String!
    state: String!
    progress: JobProgress
    "The result as JSON, once completed."
    result: String
    error: JobFailure
    attempts: Int!
    maxAttempts: Int!
    createdAt: String!
    finishedAt: String
  }
  "Something that happened to a job: enqueued, started, progress, completed, failed, cancelled."
  type JobEvent {
    type: String!
    id: ID!
    progress: JobProgress
    result: String
    error: JobFailure
    at: String!
  }
  type Query {
    job(id: ID!): Job!
  }
  type Subscription {
    "A job's events as they happen, until it has finished."
    jobProgress(id: ID!): JobEvent!
  }
`

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value))

/** This instance's events of one job, ending after its final event. */
async function* follow(jobs: JobQueue, id: string): AsyncGenerator<JobEvent> {
  const pending: JobEvent[] = []
  let wake: (() => void) | undefined
  const stop = jobs.subscribe((event) => {
    if (event.id !== id) return
    pending.push(event)
    wake?.()
  })
  try {
    for (;;) {
      while (pending.length > 0) {
        const event = pending.shift()!
        yield event
        if (event.type === 'completed' || event.type === 'cancelled' || (event.type === 'failed' && !event.willRetry)) return
      }
      await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
    }
  } finally {
    stop()
  }
}

/** The jobs' part of the GraphQL schema: a job's state, and a subscription to its progress. */
export const jobsGraphql = provide(GraphQLSchemaParts, {
  deps: { jobs: Jobs },
  create: ({ jobs }) =>
    graphqlSchema({
      typeDefs,
      resolvers: {
        Query: {
          job: async (_root: unknown, { id }: { id: string }) => {
            const status = await jobs.get(id)
            return { ...status, result: json(status.result) }
          },
        },
        Subscription: {
          jobProgress: {
            // Refuses an unknown job before following it.
            subscribe: async (_root: unknown, { id }: { id: string }) => {
              await jobs.get(id)
              return follow(jobs, id)
            },
            resolve: (event: JobEvent) => ({ ...event, result: 'result' in event ? json(event.result) : null }),
          },
        },
      },
    }),
})
