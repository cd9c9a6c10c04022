/** The error catalogue of `@plinth/graphql`. Codes are stable and never reused; docs/errors.md lists them. */
import { defineErrors } from '@plinth/core'

/**
 * Every code @plinth/graphql raises, with its title, what to do, and its HTTP status where it is not a
 * server fault.
 *
 * @example
 * if (graphqlErrors.is(error, 'PLINTH_ERR_INVALID_GRAPHQL_SCHEMA')) console.error(error.hint)
 */
export const graphqlErrors = defineErrors('@plinth/graphql', {
  PLINTH_ERR_INVALID_GRAPHQL_SCHEMA: {
    title: 'The GraphQL schema cannot be assembled',
    hint: 'Fix the type definitions or resolvers named in the message; every resolver must match a field of the type definitions contributed through GraphQLSchemaParts.',
  },
})
