import { createApp, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { buildSchema, parse, specifiedRules, validate } from 'graphql'
import { afterEach, describe, expect, it } from 'vitest'
import { GraphQLSchemaParts, costLimit, graphqlSchema, graphqlServer, type GraphQLServerOptions } from '../src/index.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const typeDefs = /* GraphQL */ `
  type Query { devices(limit: Int = 100): [Device!]!, few(limit: Int = 3): [Device!]! }
  type Device { id: ID!, kind: String!, rules: [Rule!]! }
  type Rule { kind: String! }
`
const part = provide(GraphQLSchemaParts, { value: graphqlSchema({ typeDefs, resolvers: { Query: { devices: () => [{ id: 'd1', kind: 'thermo', rules: [{ kind: 'max' }] }], few: () => [] } } }) })

async function start(env: Record<string, string>, options: GraphQLServerOptions = {}) {
  const app = createApp({ name: 'graphql-exposure', components: [graphqlServer({ port: 0, ...options }), part], logging: { level: 'silent' }, shutdown: { drainDelay: 0 } })
  const t = await startTestApp(app, { env })
  cleanup.push(() => t.stop().catch(() => undefined))
  const url = app.endpoints().find((e) => e.name === 'graphql')!.url
  return async (query: string) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })
    return (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions: Record<string, unknown> }> }
  }
}

describe('what GraphQL reveals about its schema', () => {
  it('refuses introspection and suggests no field names in production', async () => {
    const post = await start({ APP_ENV: 'production' })
    const introspection = await post('{ __schema { types { name } } }')
    expect(introspection.data).toBeUndefined()
    expect(introspection.errors?.[0]?.message).toContain('introspection has been disabled')
    const typo = await post('{ devices { kin } }')
    expect(typo.errors?.[0]?.message).toBe('Cannot query field "kin" on type "Device".')
    expect(await post('{ devices { id } }')).toEqual({ data: { devices: [{ id: 'd1' }] } })
  })

  it('allows both in production when configured, and by default elsewhere', async () => {
    const configured = await start({ APP_ENV: 'production' }, { introspection: true, suggestions: true })
    expect((await configured('{ __schema { queryType { name } } }')).data).toEqual({ __schema: { queryType: { name: 'Query' } } })
    expect((await configured('{ devices { kin } }')).errors?.[0]?.message).toBe('Cannot query field "kin" on type "Device". Did you mean "kind" or "id"?')
    const development = await start({ APP_ENV: 'development' })
    expect((await development('{ __type(name: "Device") { name } }')).data).toEqual({ __type: { name: 'Device' } })
  })
})

describe('the cost of a query follows what it asks for', () => {
  const schema = buildSchema(typeDefs)
  const costOf = (query: string, max = 1_000) => validate(schema, parse(query), [...specifiedRules, costLimit({ max })])

  it('does not count a schema\'s large default page size against a query that gives no size', () => {
    // 10 devices assumed x (1 + id + kind + 10 rules x (1 + kind)) = 230, under the limit of 1 000.
    expect(costOf('{ devices { id kind rules { kind } } }')).toEqual([])
    expect(costOf('{ devices { id kind rules { kind } } }', 229)[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', cost: 230 })
  })

  it('counts the size a query asks for, and a schema default when it is smaller than the assumed size', () => {
    expect(costOf('{ devices(limit: 100) { id kind rules { kind } } }')[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', cost: 2_300 })
    // 3 x (1 + 1) = 6
    expect(costOf('{ few { id } }', 5)[0]?.extensions).toMatchObject({ cost: 6 })
  })
})
