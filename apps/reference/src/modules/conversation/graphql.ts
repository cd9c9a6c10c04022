import { provide } from '@plinth/core'
import { GraphQLSchemaParts, graphqlSchema } from '@plinth/graphql'
import { conversation } from './components.js'

const typeDefs = /* GraphQL */ `
  "A child's message and the companion's reply."
  type Exchange {
    id: ID!
    childId: ID!
    message: String!
    reply: String!
    "Who wrote the reply: local or openai."
    provider: String!
    "True when the local provider answered in place of the configured one."
    fallback: Boolean!
    at: String!
  }
  type Query {
    "A child's latest exchanges, oldest first."
    conversation(childId: ID!, limit: Int = 20): [Exchange!]!
  }
  type Mutation {
    "Sends a child's message; the companion replies."
    converse(childId: ID!, message: String!): Exchange!
  }
`

/** The conversation module's part of the GraphQL schema. */
export const conversationGraphql = provide(GraphQLSchemaParts, {
  deps: { conversation },
  create: ({ conversation }) =>
    graphqlSchema({
      typeDefs,
      resolvers: {
        Query: {
          conversation: (_root: unknown, { childId, limit }: { childId: string; limit: number }) => conversation.history(childId, { limit }),
        },
        Mutation: {
          converse: (_root: unknown, input: { childId: string; message: string }) => conversation.converse(input, 'graphql'),
        },
      },
    }),
})
