import { provide } from '@plinth/core'
import { GraphQLSchemaParts, graphqlSchema } from '@plinth/graphql'
import { NotFound } from '../../errors.js'
import { readingFeed, telemetry } from './components.js'
import type { Device, Rule } from './model.js'

const typeDefs = /* GraphQL */ `
  "A registered device."
  type Device {
    id: ID!
    kind: String!
    metadata: [Attribute!]!
    registeredAt: String!
    rules: [Rule!]!
  }
  type Attribute {
    key: String!
    value: String!
  }
  type Reading {
    device: ID!
    metric: String!
    value: Float!
    "RFC 3339, UTC."
    timestamp: String!
  }
  "A diagnostic rule: threshold (metric, above, below) or silence (seconds)."
  type Rule {
    id: ID!
    kind: String!
    metric: String
    above: Float
    below: Float
    seconds: Int
    createdAt: String!
  }
  type Finding {
    id: ID!
    device: ID!
    rule: ID!
    kind: String!
    message: String!
    value: Float
    observedAt: String!
    raisedAt: String!
  }
  type Query {
    device(id: ID!): Device
    devices(limit: Int = 100): [Device!]!
    "A device's readings from 'from' (inclusive) to 'to' (exclusive), newest first."
    readings(device: ID!, from: String, to: String, metric: String, limit: Int = 100): [Reading!]!
    findings(device: ID!, limit: Int = 100): [Finding!]!
  }
  type Subscription {
    "Every reading of the device from now on, as it is stored."
    readingAdded(device: ID!): Reading!
  }
`

/** GraphQL passes absent optional arguments as null; the service's schemas expect them left out. */
const present = (args: Record<string, unknown>) => Object.fromEntries(Object.entries(args).filter(([, value]) => value !== null && value !== undefined))

/** The telemetry module's part of the GraphQL schema. */
export const telemetryGraphql = provide(GraphQLSchemaParts, {
  deps: { telemetry, feed: readingFeed },
  create: ({ telemetry, feed }) =>
    graphqlSchema({
      typeDefs,
      resolvers: {
        Query: {
          // A device that does not exist is null in GraphQL, not an error.
          device: async (_root: unknown, { id }: { id: string }) => {
            try {
              return await telemetry.device(id)
            } catch (error) {
              if (error instanceof NotFound) return null
              throw error
            }
          },
          devices: (_root: unknown, { limit }: { limit: number }) => telemetry.devices(limit),
          readings: (_root: unknown, { device, ...query }: { device: string } & Record<string, unknown>) => telemetry.readings(device, present(query)),
          findings: (_root: unknown, { device, limit }: { device: string; limit: number }) => telemetry.findings(device, limit),
        },
        Device: {
          metadata: (device: Device) => Object.entries(device.metadata).map(([key, value]) => ({ key, value })),
          rules: (device: Device): Promise<Rule[]> => telemetry.rules(device.id),
        },
        Subscription: {
          readingAdded: {
            // Refuses an unknown device before following it.
            subscribe: async (_root: unknown, { device }: { device: string }) => {
              await telemetry.device(device)
              return feed.follow(device)
            },
            resolve: (reading: unknown) => reading,
          },
        },
      },
    }),
})
