import { describe, expect, it } from 'vitest'
import { startService } from './service.js'

type Response = { description?: string; content?: Record<string, { schema?: { required?: string[] } }> }
type Operation = { requestBody?: unknown; responses?: Record<string, Response>; parameters?: Array<{ in: string; name: string; required?: boolean }> }
type Document = { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>> }

const methods = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head']

describe('the OpenAPI document of the reference service', () => {
  it('documents the statuses each API route really answers, errors as problem+json, with no trailing-slash paths', async () => {
    await using service = await startService()
    // No OpenAPI validator is installed in this repository; the structure is checked here.
    const document = (await (await fetch(`${service.urls.http}/docs/json`)).json()) as Document
    expect(document.openapi).toMatch(/^3\.1\.\d+$/)
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) })

    const api = Object.entries(document.paths).filter(([path]) => path.startsWith('/api/'))
    expect(api.length).toBeGreaterThanOrEqual(9)
    for (const [path, item] of Object.entries(document.paths)) {
      expect(path === '/' || !path.endsWith('/'), `${path} ends with a slash`).toBe(true)
      for (const [method, operation] of Object.entries(item)) {
        if (!methods.includes(method)) continue
        // Every {parameter} of the path is declared, required, in: path.
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
          expect(operation.parameters?.find((p) => p.in === 'path' && p.name === name), `${method.toUpperCase()} ${path} declares {${name}}`).toMatchObject({ required: true })
        }
      }
    }
    for (const [path, item] of api) {
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`
        const statuses = Object.keys(operation.responses ?? {})
        expect(statuses.filter((s) => /^2\d\d$/.test(s)), `${where} documents one success status`).toHaveLength(1)
        expect(statuses, where).toEqual(expect.arrayContaining(['429', '500', '503']))
        for (const status of statuses.filter((s) => /^[45]\d\d$/.test(s))) {
          const response = operation.responses![status]!
          expect(response.description, `${where} ${status}`).not.toBe('Default Response')
          expect(response.content?.['application/problem+json']?.schema?.required, `${where} ${status} is problem+json`).toEqual(['type', 'title', 'status', 'detail', 'instance', 'requestId'])
        }
        if (operation.requestBody !== undefined) expect(statuses, `${where} takes JSON`).toEqual(expect.arrayContaining(['400', '415']))
      }
    }
    expect(Object.keys(document.paths['/api/v1/telemetry/devices']!.post!.responses!)).toEqual(['201', '400', '401', '403', '409', '415', '429', '500', '503'])
    expect(document.paths['/api/v1/conversation']?.post).toBeDefined()
    expect(document.paths['/api/v1/conversation/']).toBeUndefined()
  })

  it('still sends success bodies whole and errors as problem details', async () => {
    await using service = await startService()
    const created = await service.rest('POST', '/api/v1/telemetry/devices', { id: 'doc-1', kind: 'thermometer', metadata: { room: 'hall' } })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ id: 'doc-1', kind: 'thermometer', metadata: { room: 'hall' } })
    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id: 'doc-1', kind: 'thermometer' })).status).toBe(409)
    const reply = await service.rest('POST', '/api/v1/conversation', { childId: 'child-1', message: 'Why is the sky blue?' })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ childId: 'child-1', reply: expect.any(String) })
  })
})
