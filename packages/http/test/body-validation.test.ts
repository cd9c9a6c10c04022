import { provide } from '@plinth/core'
import { memoryStartCache } from '@plinth/core/testing'
import { describe, expect, it, vi } from 'vitest'
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

describe('route schemas and a bundle\'s start cache', () => {
  // An Ajv keyword that counts how often Ajv compiled a schema that uses it.
  let compiles = 0
  const counting = <A extends { addKeyword: (definition: { keyword: string; compile: () => () => boolean }) => unknown }>(ajv: A): A => {
    ajv.addKeyword({ keyword: 'x-counted', compile: () => ((compiles += 1), () => true) })
    return ajv
  }
  const routeWith = (type: string) =>
    provide(Routes, {
      value: (http) => {
        http.post('/counted', { schema: { body: { type: 'object', 'x-counted': true, properties: { n: { type } } } } }, (request) => request.body)
      },
    })
  const boot = (type = 'integer') => bootHttp({ fastify: { ajv: { plugins: [counting] } } }, [routeWith(type)])

  it('compiles at start a schema no earlier start compiled, and records it; the next start compiles it on its first request', async () => {
    using cache = memoryStartCache()
    const { texts } = cache
    compiles = 0
    {
      await using first = await boot()
      expect(compiles).toBe(1)
      await vi.waitFor(() => expect(texts.get('route-schemas')).toBeDefined())
      expect((await first.server.fastify.inject({ method: 'POST', url: '/counted', payload: { n: 1 } })).statusCode).toBe(200)
    }
    {
      await using second = await boot()
      expect(compiles).toBe(1)
      const wrong = await second.server.fastify.inject({ method: 'POST', url: '/counted', payload: { n: 'one' } })
      expect(wrong.statusCode).toBe(400)
      expect(wrong.json()).toMatchObject({ errors: [{ pointer: '#/body/n', detail: 'must be integer' }] })
      expect(compiles).toBe(2)
      expect((await second.server.fastify.inject({ method: 'POST', url: '/counted', payload: { n: 2 } })).json()).toEqual({ n: 2 })
      expect(compiles).toBe(2)
    }
    // A schema that changed is not the one recorded: it compiles at start again, and the record
    // keeps what this start met, not the schema no route uses any more.
    const before = texts.get('route-schemas')!.split('\n')
    {
      await using changed = await boot('string')
      expect(compiles).toBe(3)
      expect((await changed.server.fastify.inject({ method: 'POST', url: '/counted', payload: { n: 'one' } })).statusCode).toBe(200)
      await vi.waitFor(() => expect(texts.get('route-schemas')).not.toEqual(before.join('\n')))
    }
    const after = texts.get('route-schemas')!.split('\n')
    expect(after).toHaveLength(before.length)
    expect(after.filter((fingerprint) => !before.includes(fingerprint))).toHaveLength(1)
  })

  it('still refuses at start a schema Ajv cannot compile, which it never records', async () => {
    using cache = memoryStartCache()
    const { texts } = cache
    const unknownKeyword = provide(Routes, {
      value: (http) => {
        http.post('/broken', { schema: { body: { type: 'object', 'x-unknown': true } } }, () => ({ ok: true }))
      },
    })
    await expect(bootHttp({}, [unknownKeyword])).rejects.toThrow(/unknown keyword: "x-unknown"/)
    expect(texts.get('route-schemas')).toBeUndefined()
  })

  it('compiles every schema at start without a start cache (a process not started from a bundle)', async () => {
    compiles = 0
    for (const expected of [1, 2]) {
      await (await boot())[Symbol.asyncDispose]()
      expect(compiles).toBe(expected)
    }
  })
})
