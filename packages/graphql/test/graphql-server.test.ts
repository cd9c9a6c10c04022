import { setTimeout as sleep } from 'node:timers/promises'
import { Health, Metrics, component, createApp, provide, type AnyProvider } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { createClient, type Client } from 'graphql-ws'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { GraphQLSchemaParts, graphqlSchema, graphqlServer, type GraphQLServerOptions } from '../src/index.js'

const silent = { level: 'silent' } as const
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

let requests = 0
let slowStarted = 0
const RequestInfo = component('request-info', { lifetime: 'scoped', create: () => ({ id: ++requests }) })

const typeDefs = /* GraphQL */ `
  type Query {
    hello(name: String!): String!
    requestId: Int!
    user(id: ID!): User
    crash: String
    posts(first: Int): [Post!]!
    node: Node
    slow(ms: Int!): Int!
  }
  type User { id: ID!, name: String! }
  type Post { id: ID!, comments(first: Int): [Comment!]! }
  type Comment { id: ID!, text: String! }
  type Node { value: Int, child: Node }
  type Mutation { add(a: Int!, b: Int!): Int! }
  type Subscription { ticks(count: Int!): Int!, forever: Int!, nodes: Node! }
`

const list = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i))

const schemaPart = provide(GraphQLSchemaParts, {
  value: graphqlSchema({
    typeDefs,
    resolvers: {
      Query: {
        hello: (_root: unknown, { name }: { name: string }) => `hello, ${name}`,
        requestId: async (_root: unknown, _args: unknown, ctx) => (await ctx.resolve(RequestInfo)).id,
        user: (_root: unknown, { id }: { id: string }) => {
          if (id !== '1') throw Object.assign(new Error(`no user ${id}`), { status: 404 })
          return { id, name: 'Ada' }
        },
        crash: () => {
          throw new Error('password=hunter2')
        },
        posts: (_root: unknown, { first }: { first?: number }) => list(first ?? 2, (i) => ({ id: String(i) })),
        node: () => ({ value: 1, child: null }),
        slow: async (_root: unknown, { ms }: { ms: number }) => {
          slowStarted++
          await sleep(ms)
          return ms
        },
      },
      Post: { comments: (_post: unknown, { first }: { first?: number }) => list(first ?? 1, (i) => ({ id: String(i), text: 'nice' })) },
      Mutation: { add: (_root: unknown, { a, b }: { a: number; b: number }) => a + b },
      Subscription: {
        ticks: {
          subscribe: async function* (_root: unknown, { count }: { count: number }) {
            for (let i = 1; i <= count; i++) yield { ticks: i }
          },
        },
        nodes: {
          subscribe: async function* () {
            yield { nodes: { value: 1, child: null } }
          },
        },
        forever: {
          subscribe: async function* () {
            for (let i = 1; ; i++) {
              yield { forever: i }
              await sleep(20)
            }
          },
        },
      },
    },
  }),
})

async function start(options: GraphQLServerOptions = {}, extra: AnyProvider[] = []) {
  const app = createApp({ name: 'graphql-test', components: [graphqlServer({ port: 0, ...options }), RequestInfo, schemaPart, ...extra], logging: silent })
  const t = await startTestApp(app)
  cleanup.push(() => t.stop().catch(() => undefined))
  const url = app.endpoints().find((e) => e.name === 'graphql')!.url
  const post = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) })
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions: Record<string, unknown> }> } }
  }
  const ws = (options: { onClosed?: (event: unknown) => void } = {}): Client => {
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, on: { closed: (event) => options.onClosed?.(event) } })
    cleanup.push(() => client.dispose())
    return client
  }
  return { t, app, url, post, ws }
}

/** Collects a subscription's values and how it ended. */
function collect(client: Client, query: string) {
  const values: unknown[] = []
  let first: () => void = () => undefined
  const started = new Promise<void>((resolve) => (first = resolve))
  const ended = new Promise<{ completed: true } | { error: unknown }>((resolve) => {
    client.subscribe({ query }, {
      next: (value) => {
        values.push(value)
        first()
      },
      error: (error) => resolve({ error }),
      complete: () => resolve({ completed: true }),
    })
  })
  return { values, started, ended }
}

describe('the GraphQL server', () => {
  it('answers a query over HTTP, POST and GET', async () => {
    const { post, url } = await start()
    expect(await post('query ($n: String!) { hello(name: $n) }', { n: 'Ada' })).toEqual({ status: 200, body: { data: { hello: 'hello, Ada' } } })
    const res = await fetch(`${url}?query=${encodeURIComponent('{ hello(name: "Bob") }')}`)
    expect(await res.json()).toEqual({ data: { hello: 'hello, Bob' } })
    expect((await post('mutation { add(a: 1, b: 2) }')).body.data).toEqual({ add: 3 })
    const getMutation = await fetch(`${url}?query=${encodeURIComponent('mutation { add(a: 1, b: 2) }')}`)
    expect(getMutation.status).toBe(405)
  })

  it('resolves each request in its own request scope', async () => {
    const { post } = await start()
    const first = await post('{ a: requestId b: requestId }')
    const second = await post('{ a: requestId }')
    expect(first.body.data.a).toBe(first.body.data.b)
    expect(second.body.data.a).not.toBe(first.body.data.a)
  })

  it('reports errors in GraphQL format with extension codes, hiding internal messages', async () => {
    const { post } = await start()
    const notFound = await post('{ user(id: "7") { name } }')
    expect(notFound.status).toBe(200)
    expect(notFound.body.data).toEqual({ user: null })
    expect(notFound.body.errors?.[0]).toMatchObject({ message: 'no user 7', path: ['user'], extensions: { code: 'NOT_FOUND' } })
    const crash = await post('{ crash }')
    expect(crash.body.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } })
    expect(JSON.stringify(crash.body)).not.toContain('hunter2')
    expect(await post('{ hello(name: ')).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] } })
    expect(await post('{ nope }')).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] } })
    expect(await post('query ($n: String!) { hello(name: $n) }', { n: 3 })).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] } })
  })

  it('rejects queries deeper than the depth limit, through fragments too', async () => {
    const { post } = await start({ maxDepth: 3 })
    expect((await post('{ node { child { value } } }')).status).toBe(200)
    const deep = await post('{ node { child { child { value } } } }')
    expect(deep).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'DEPTH_LIMIT_EXCEEDED', depth: 4, limit: 3 } }] } })
    const viaFragment = await post('{ node { ...Deep } } fragment Deep on Node { child { child { value } } }')
    expect(viaFragment.body.errors?.[0]?.extensions.code).toBe('DEPTH_LIMIT_EXCEEDED')
    expect((await post('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }')).status).toBe(200)
  })

  it('rejects queries whose estimated cost passes the limit, counting list sizes from arguments and variables', async () => {
    const { post } = await start({ maxCost: 500 })
    expect((await post('{ posts(first: 10) { comments(first: 10) { text } } }')).status).toBe(200)
    const costly = await post('{ posts(first: 50) { comments(first: 20) { text } } }')
    expect(costly).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'COST_LIMIT_EXCEEDED', limit: 500 } }] } })
    const viaVariables = await post('query ($n: Int) { posts(first: $n) { id } }', { n: 1_000 })
    expect(viaVariables.body.errors?.[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', cost: 2_000 })
  })

  it('serves subscriptions over graphql-ws on the same path, with the same limits', async () => {
    const { ws } = await start({ maxDepth: 2 })
    const client = ws()
    const ticks = collect(client, 'subscription { ticks(count: 3) }')
    expect(await ticks.ended).toEqual({ completed: true })
    expect(ticks.values).toEqual([1, 2, 3].map((ticks) => ({ data: { ticks } })))
    const deep = collect(client, 'subscription { nodes { child { child { value } } } }')
    expect(await deep.ended).toEqual({ error: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'DEPTH_LIMIT_EXCEEDED' }) })] })
    expect(deep.values).toEqual([])
  })

  it('completes running subscriptions at shutdown, then closes the socket with 1001', async () => {
    const closed: number[] = []
    const probes = component('probes', { eager: true, deps: { health: Health }, create: ({ health }) => health })
    const { ws, t } = await start({}, [probes])
    const health = t.get(Health)
    await health.checkNow('graphql-server')
    expect(health.report().checks.find((c) => c.name === 'graphql-server')?.status).toBe('up')
    const client = ws({ onClosed: (event) => closed.push((event as { code: number }).code) })
    const forever = collect(client, 'subscription { forever }')
    await forever.started
    expect((await t.get(Metrics).render()).body).toContain('app_active_connections{server_type="graphql"} 1')
    await t.stop()
    expect(await forever.ended).toEqual({ completed: true })
    await expect.poll(() => closed).toEqual([1001])
  })

  it('lets a request in flight finish at shutdown, telling the client to close the connection', async () => {
    const { url, t } = await start()
    const before = slowStarted
    const inFlight = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ slow(ms: 300) }' }) })
    await expect.poll(() => slowStarted).toBe(before + 1)
    await t.stop()
    const res = await inFlight
    expect(res.headers.get('connection')).toBe('close')
    expect(await res.json()).toEqual({ data: { slow: 300 } })
  })

  it('fails to start with PLINTH_ERR_INVALID_GRAPHQL_SCHEMA when resolvers do not match the type definitions', async () => {
    const stray = provide(GraphQLSchemaParts, { value: graphqlSchema({ typeDefs: 'type Query { a: Int }', resolvers: { Query: { b: () => 1 } } }) })
    const app = createApp({ name: 'graphql-bad', components: [graphqlServer({ port: 0 }), stray], logging: silent })
    await expect(startTestApp(app)).rejects.toThrow(/PLINTH_ERR_INVALID_GRAPHQL_SCHEMA[\s\S]*Query\.b/)
    const empty = createApp({ name: 'graphql-empty', components: [graphqlServer({ port: 0 })], logging: silent })
    await expect(startTestApp(empty)).rejects.toThrow(/PLINTH_ERR_INVALID_GRAPHQL_SCHEMA[\s\S]*no GraphQL type definitions/)
  })
})
