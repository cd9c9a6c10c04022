import { provide } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { PROBLEM_JSON, Routes } from '../src/index.js'
import { bootHttp } from './harness.js'

const devices = provide(Routes, {
  value: (http) => {
    http.post(
      '/devices',
      { schema: { body: { type: 'object', required: ['id', 'kind'], properties: { id: { type: 'string' }, kind: { type: 'string' }, value: { type: 'number' } } } } },
      (request, reply) => reply.code(201).send({ stored: request.body }),
    )
    http.get(
      '/devices/:id',
      { schema: { params: { type: 'object', properties: { id: { type: 'integer' } } }, querystring: { type: 'object', properties: { limit: { type: 'integer' }, verbose: { type: 'boolean' } } } } },
      (request) => ({ params: request.params, query: request.query }),
    )
    http.post('/rules', { schema: { body: { oneOf: [{ type: 'object', properties: { kind: { const: 'max' } } }, { type: 'object', properties: { kind: { const: 'min' } } }] } } }, () => ({ ok: true }))
    // A route without an object schema may take text.
    http.post('/notes', (request) => ({ text: request.body }))
  },
})

describe('request validation', () => {
  it('does not coerce the types of a JSON body: a boolean is not a string, a string is not a number', async () => {
    await using h = await bootHttp({}, [devices])
    const kind = await h.server.fastify.inject({ method: 'POST', url: '/devices', payload: { id: 'b1', kind: true } })
    expect(kind.statusCode).toBe(400)
    expect(kind.json()).toMatchObject({ type: 'urn:plinth:problem:validation-failed', errors: [{ pointer: '#/body/kind', detail: 'must be string' }] })
    const value = await h.server.fastify.inject({ method: 'POST', url: '/devices', payload: { id: 'b1', kind: 'thermo', value: '12' } })
    expect(value.statusCode).toBe(400)
    expect(value.json()).toMatchObject({ errors: [{ pointer: '#/body/value', detail: 'must be number' }] })
    const good = await h.server.fastify.inject({ method: 'POST', url: '/devices', payload: { id: 'b1', kind: 'thermo', value: 12 } })
    expect(good.statusCode).toBe(201)
    expect(good.json()).toEqual({ stored: { id: 'b1', kind: 'thermo', value: 12 } })
  })

  it('still coerces query strings and path parameters, where every value arrives as a string', async () => {
    await using h = await bootHttp({}, [devices])
    const response = await h.server.fastify.inject('/devices/7?limit=10&verbose=true')
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ params: { id: 7 }, query: { limit: 10, verbose: true } })
    const wrong = await h.server.fastify.inject('/devices/seven?limit=ten')
    expect(wrong.statusCode).toBe(400)
    expect(wrong.json<{ errors: { pointer: string }[] }>().errors.map((e) => e.pointer)).toEqual(['#/params/id'])
  })

  it('answers a text/plain or form body to a JSON route with 415 problem details, and leaves text routes alone', async () => {
    await using h = await bootHttp({}, [devices])
    const text = await h.server.fastify.inject({ method: 'POST', url: '/devices', headers: { 'content-type': 'text/plain' }, payload: '{"id":"b1","kind":"thermo"}' })
    expect(text.statusCode).toBe(415)
    expect(text.headers['content-type']).toBe(PROBLEM_JSON)
    expect(text.json()).toMatchObject({ status: 415, title: 'Unsupported Media Type', detail: 'POST /devices takes a JSON body; send it with Content-Type: application/json (got text/plain)' })
    const xml = await h.server.fastify.inject({ method: 'POST', url: '/devices', headers: { 'content-type': 'application/xml' }, payload: '<device/>' })
    expect(xml.statusCode).toBe(415)
    expect(xml.headers['content-type']).toBe(PROBLEM_JSON)
    const vendorJson = await h.server.fastify.inject({ method: 'POST', url: '/devices', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '{"id":"b1","kind":"thermo"}' })
    expect(vendorJson.statusCode).toBe(201)
    const union = await h.server.fastify.inject({ method: 'POST', url: '/rules', headers: { 'content-type': 'text/plain' }, payload: '{"kind":"max"}' })
    expect(union.statusCode).toBe(415)
    const note = await h.server.fastify.inject({ method: 'POST', url: '/notes', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
    expect(note.json()).toEqual({ text: 'hello' })
  })

  it('refuses at start a body schema that the JSON Schema meta-schema refuses, as it does a query schema', async () => {
    for (const part of ['body', 'querystring'] as const) {
      const broken = provide(Routes, {
        value: (http) => {
          http.post('/broken', { schema: { [part]: { type: 'object', properties: { id: { type: 'string', minLength: 'five' } } } } }, () => ({ ok: true }))
        },
      })
      await expect(bootHttp({}, [broken])).rejects.toThrow(/schema is invalid: data\/properties\/id\/minLength must be integer/)
    }
  })
})
