import { provide } from '@plinth/core'
import { memoryStartCache } from '@plinth/core/testing'
import { describe, expect, it, vi } from 'vitest'
import { fingerprint } from '../src/compiled-schemas.js'
import { Routes } from '../src/index.js'
import { sharedSerializers } from '../src/serializers.js'
import { bootHttp } from './harness.js'

const shared = { type: 'object', properties: { id: { type: 'string' }, count: { type: 'integer' } } } as const
const other = { type: 'object', properties: { name: { type: 'string' } } } as const

describe('response serializers', () => {
  it('builds one serializer per schema object, and another for another schema', () => {
    const compile = sharedSerializers()!({}, {}) as (route: { schema: unknown; method: string; url: string; httpStatus: string }) => (data: unknown) => string
    const first = compile({ schema: shared, method: 'GET', url: '/a', httpStatus: '200' })
    expect(compile({ schema: shared, method: 'POST', url: '/b', httpStatus: '404' })).toBe(first)
    const second = compile({ schema: other, method: 'GET', url: '/a', httpStatus: '200' })
    expect(second).not.toBe(first)
    expect(first({ id: 'x', count: 2, secret: 'dropped' })).toBe('{"id":"x","count":2}')
    expect(second({ id: 'x', name: 'n' })).toBe('{"name":"n"}')
  })

  it('serializes every route that shares a schema by that schema, and each other route by its own', async () => {
    const routes = provide(Routes, {
      value: (http) => {
        http.get('/a', { schema: { response: { 200: shared } } }, () => ({ id: 'a', count: 1, extra: true }))
        http.get('/b', { schema: { response: { 200: shared, 404: shared } } }, () => ({ id: 'b', count: 2 }))
        http.get('/c', { schema: { response: { 200: other } } }, () => ({ id: 'c', name: 'see' }))
      },
    })
    await using h = await bootHttp({}, [routes])
    expect((await h.server.fastify.inject('/a')).body).toBe('{"id":"a","count":1}')
    expect((await h.server.fastify.inject('/b')).body).toBe('{"id":"b","count":2}')
    expect((await h.server.fastify.inject('/c')).body).toBe('{"name":"see"}')
  })
})

describe("response serializers and a bundle's start cache", () => {
  type Compile = (route: { schema: unknown; method: string; url: string; httpStatus: string }) => (data: unknown) => string
  const compiler = () => sharedSerializers()!({}, {}) as Compile
  const route = (schema: unknown) => ({ schema, method: 'GET', url: '/a', httpStatus: '200' })
  // fast-json-stringify refuses this schema when it compiles it.
  const invalid = { type: 'object', properties: { id: { type: 'nonsense' } } }
  // The record's key of a schema built with no shared schemas and no options, as compiler() builds.
  const keyOf = (schema: unknown) => fingerprint(fingerprint({}, {}), schema)

  it('records a schema whose serializer compiled, and a later start serializes by it alike', async () => {
    using cache = memoryStartCache()
    expect(compiler()(route(shared))({ id: 'x', count: 2, secret: 'dropped' })).toBe('{"id":"x","count":2}')
    await vi.waitFor(() => expect(cache.texts.get('response-schemas')).toBe(keyOf(shared)))
    expect(compiler()(route(shared))({ id: 'y', count: 3, secret: 'dropped' })).toBe('{"id":"y","count":3}')
  })

  it('compiles a recorded schema on its first response, and any other schema at start', () => {
    {
      // Recorded as compiled (as only a start where it compiled writes it): nothing is compiled at start.
      using cache = memoryStartCache()
      cache.texts.set('response-schemas', keyOf(invalid))
      const serialize = compiler()(route(invalid))
      expect(() => serialize({ id: 'x' })).toThrow(/schema is invalid/)
    }
    {
      // Not recorded: compiled at start, where its error stops the start, and never recorded.
      using cache = memoryStartCache()
      cache.texts.set('response-schemas', keyOf(shared))
      expect(() => compiler()(route(invalid))).toThrow(/schema is invalid/)
    }
    // Outside a bundle there is no record: compiled at start.
    expect(() => compiler()(route(invalid))).toThrow(/schema is invalid/)
  })
})
