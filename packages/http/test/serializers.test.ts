import { provide } from '@plinth/core'
import { describe, expect, it } from 'vitest'
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
