import { memoryStartCache } from '@plinth/core/testing'
import { graphql } from 'graphql'
import { describe, expect, it } from 'vitest'
import { assembleSchema, graphqlSchema } from '../src/index.js'
import { typeDefsDigest, validatedTypeDefsEntry } from '../src/schema-parts.js'

describe("the schema and a bundle's start cache", () => {
  const valid = 'type Query { greet(name: String!): String! }'
  const resolvers = { Query: { greet: (_root: unknown, { name }: { name: string }) => `hello ${name}` } }
  // graphql's SDL check refuses this (the directive is declared nowhere); the schema builds without it.
  const invalid = 'type Query { greet(name: String!): String! @nowhere }'

  it('records type definitions once they validated and built, and serves the same schema from the record', async () => {
    using cache = memoryStartCache()
    const first = assembleSchema([graphqlSchema({ typeDefs: valid, resolvers })])
    expect(cache.texts.get(validatedTypeDefsEntry)).toBe(typeDefsDigest([valid]))
    const second = assembleSchema([graphqlSchema({ typeDefs: valid, resolvers })])
    for (const schema of [first, second]) expect(await graphql({ schema, source: '{ greet(name: "Ada") }' })).toEqual({ data: { greet: 'hello Ada' } })
  })

  it('validates type definitions the record does not name, and records nothing for ones that fail', () => {
    using cache = memoryStartCache()
    cache.texts.set(validatedTypeDefsEntry, typeDefsDigest([valid]))
    expect(() => assembleSchema([graphqlSchema({ typeDefs: invalid, resolvers })])).toThrow(/Unknown directive "@nowhere"/)
    expect(cache.texts.get(validatedTypeDefsEntry)).toBe(typeDefsDigest([valid]))
  })

  it('skips the SDL check only for the very text the record names, and only from a bundle', () => {
    {
      // Recorded as validated (as only a start that validated them writes it): built without the check.
      using cache = memoryStartCache()
      cache.texts.set(validatedTypeDefsEntry, typeDefsDigest([invalid]))
      expect(() => assembleSchema([graphqlSchema({ typeDefs: invalid, resolvers })])).not.toThrow()
    }
    // Outside a bundle there is no record: always checked.
    expect(() => assembleSchema([graphqlSchema({ typeDefs: invalid, resolvers })])).toThrow(/Unknown directive "@nowhere"/)
  })
})
