import { describe, expect, it } from 'vitest'
import { WsClient } from './clients.js'
import { startService, unique } from './service.js'

describe('the reference service as a careful team runs it', () => {
  it('answers CORS preflights for the configured origins only', async () => {
    await using service = await startService({ CORS_ORIGINS: 'https://console.example,http://localhost:5173' })
    const preflight = await fetch(`${service.urls.http}/api/v1/telemetry/devices`, {
      method: 'OPTIONS',
      headers: { origin: 'https://console.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://console.example')
    const stranger = await fetch(`${service.urls.http}/api/v1/telemetry/devices`, { headers: { origin: 'https://evil.example' } })
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('lets a configured origin call the PUT and DELETE routes, and sends any other origin no CORS headers at all', async () => {
    await using service = await startService({ CORS_ORIGINS: 'http://localhost:5173' })
    const preflight = (path: string, origin: string, method: string) =>
      fetch(`${service.urls.http}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' } })
    const corsHeaders = (response: Response) => [...response.headers.keys()].filter((name) => name.startsWith('access-control-'))
    for (const [path, method] of [['/api/v1/telemetry/dead-letters/1', 'DELETE'], ['/api/v1/provisioning/devices/thermo-1/settings', 'PUT'], ['/api/v1/auth/users/u-1/roles', 'PUT']] as const) {
      const allowed = await preflight(path, 'http://localhost:5173', method)
      expect(allowed.status).toBe(204)
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
      expect(allowed.headers.get('access-control-allow-methods')?.split(/,\s*/)).toContain(method)
      expect(allowed.headers.get('access-control-max-age')).toBe('600')
      const refused = await preflight(path, 'http://evil.example', method)
      expect(corsHeaders(refused), path).toEqual([])
      expect(refused.status).not.toBe(204)
    }
    const stranger = await fetch(`${service.urls.http}/api/v1/telemetry/devices`, { headers: { origin: 'http://evil.example' } })
    expect(stranger.status).toBe(200)
    expect(corsHeaders(stranger)).toEqual([])
  })

  it('limits each client\'s requests per minute with a 429 problem, retryAfter and Retry-After, and never the probes', async () => {
    await using service = await startService({ HTTP_RATE_LIMIT: '5' })
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await service.rest('GET', '/api/v1/telemetry/devices')).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
    const limited = await service.rest('GET', '/api/v1/telemetry/devices')
    expect(limited.headers.get('content-type')).toBe('application/problem+json')
    expect(Number(limited.headers.get('retry-after'))).toBe(limited.body.retryAfter)
    expect(limited.body).toMatchObject({ status: 429, type: 'urn:plinth:problem:rate-limited' })
    expect(limited.body.retryAfterSeconds).toBeUndefined()
    expect((await fetch(`${service.urls.http}/health/ready`)).status).toBe(200)
  })

  it('validates REST bodies without coercing types, and answers a text body with 415', async () => {
    await using service = await startService()
    const id = unique('b1')
    const coerced = await service.rest('POST', '/api/v1/telemetry/devices', { id, kind: true })
    expect(coerced.status).toBe(400)
    expect(coerced.body.errors).toEqual([expect.objectContaining({ pointer: '#/body/kind' })])
    expect((await service.rest('GET', `/api/v1/telemetry/devices/${id}`)).status).toBe(404)
    const text = await fetch(`${service.urls.http}/api/v1/telemetry/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.operatorToken}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ id, kind: 'thermometer' }),
    })
    expect(text.status).toBe(415)
    expect(text.headers.get('content-type')).toBe('application/problem+json')
  })

  it('answers an ordinary nested GraphQL query within the cost limit', async () => {
    await using service = await startService()
    const res = await fetch(service.urls.graphql!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ devices { id kind rules { kind } } }' }) })
    const body = (await res.json()) as { data?: unknown; errors?: unknown }
    expect(body.errors).toBeUndefined()
    expect(body.data).toMatchObject({ devices: expect.any(Array) })
  })

  it('answers conversation.history sent right after conversation.send on one socket with the message sent', async () => {
    await using service = await startService()
    const ws = await WsClient.connect(service.urls.websocket!)
    try {
      const childId = unique('child')
      // Both sent at once, without waiting for the first answer.
      ws.socket.send(JSON.stringify({ type: 'conversation.send', id: 'send', data: { childId, message: 'Why is the sky blue?' } }))
      ws.socket.send(JSON.stringify({ type: 'conversation.history', id: 'history', data: { childId } }))
      const history = await ws.next((m) => m.id === 'history')
      expect(history.type).toBe('result')
      expect(history.data).toEqual([expect.objectContaining({ childId, message: 'Why is the sky blue?' })])
    } finally {
      ws.close()
    }
  })
})
