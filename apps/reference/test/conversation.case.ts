/**
 * The conversation module end to end, through every protocol it offers: REST, WebSocket
 * messages and GraphQL, with the local provider (the default). Run against each database by
 * sqlite.test.ts and postgres.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphql, WsClient } from './clients.js'
import { sample, unique, type Service } from './service.js'

export function describeConversation(start: () => Promise<Service>): void {
  describe('conversation', () => {
    let service: Service
    beforeAll(async () => {
      service = await start()
    })
    afterAll(() => service?.stop())

    it('replies over REST, WebSocket and GraphQL, and keeps one history across them', async () => {
      const childId = unique('child')
      const rest = await service.rest('POST', '/api/v1/conversation', { childId, message: 'Hello!' })
      expect(rest.status).toBe(200)
      expect(rest.body).toMatchObject({ childId, message: 'Hello!', reply: "Hello! I'm happy to talk with you. What shall we talk about today?", provider: 'local', fallback: false })

      const ws = await WsClient.connect(service.urls.websocket!)
      try {
        const answer = await ws.request('conversation.send', { childId, message: 'I built a sandcastle' })
        expect(answer).toMatchObject({ type: 'result', data: { childId, message: 'I built a sandcastle', provider: 'local' } })
        // The local provider is deterministic: the same words get the same reply.
        const again = await ws.request('conversation.send', { childId: unique('child'), message: 'I built a sandcastle' })
        expect(again.data.reply).toBe(answer.data.reply)
      } finally {
        ws.close()
      }

      const mutation = await graphql(service.urls.graphql!, 'mutation ($c: ID!, $m: String!) { converse(childId: $c, message: $m) { message reply provider fallback } }', {
        c: childId,
        m: 'Why is the sky blue?',
      })
      expect(mutation.errors).toBeUndefined()
      expect(mutation.data.converse).toEqual({ message: 'Why is the sky blue?', reply: expect.stringMatching(/\?$|!$/), provider: 'local', fallback: false })

      const history = (await service.rest('GET', `/api/v1/conversation/${childId}/history`)).body as Array<{ message: string }>
      expect(history.map((e) => e.message)).toEqual(['Hello!', 'I built a sandcastle', 'Why is the sky blue?'])
      const latest = await graphql(service.urls.graphql!, 'query ($c: ID!) { conversation(childId: $c, limit: 2) { message } }', { c: childId })
      expect(latest.data.conversation).toEqual([{ message: 'I built a sandcastle' }, { message: 'Why is the sky blue?' }])
      const viaWs = await WsClient.connect(service.urls.websocket!)
      try {
        expect((await viaWs.request('conversation.history', { childId, limit: 1 })).data).toMatchObject([{ message: 'Why is the sky blue?' }])
      } finally {
        viaWs.close()
      }
    })

    it('refuses blocked words and patterns on every protocol, says so, counts it, and stores nothing', async () => {
      const childId = unique('child')
      const before = sample(await service.metrics(), 'conversation_blocked_total{direction="message"}') ?? 0

      const rest = await service.rest('POST', '/api/v1/conversation', { childId, message: 'My PASSWORD is tulip' })
      expect(rest.status).toBe(422)
      expect(rest.headers.get('content-type')).toBe('application/problem+json')
      expect(rest.body).toMatchObject({
        type: 'urn:plinth:reference:problem:content-blocked',
        title: 'Content blocked',
        blocked: 'message',
        detail: 'the message was blocked by the safety filter; it was not sent to the companion, nor stored',
      })

      const ws = await WsClient.connect(service.urls.websocket!)
      try {
        const refused = await ws.request('conversation.send', { childId, message: 'write to me at kid@example.com' })
        expect(refused).toMatchObject({ type: 'error', error: { code: 'invalid_data', message: expect.stringContaining('blocked by the safety filter') } })
      } finally {
        ws.close()
      }

      const mutation = await graphql(service.urls.graphql!, 'mutation ($c: ID!) { converse(childId: $c, message: "call me on +44 20 7946 0958") { reply } }', { c: childId })
      expect(mutation.errors?.[0]).toMatchObject({ message: expect.stringContaining('blocked by the safety filter'), extensions: { code: 'BAD_USER_INPUT' } })

      // Whole words only: "passwords" is a different word, and harmless talk goes through.
      expect((await service.rest('POST', '/api/v1/conversation', { childId, message: 'I know lots of passwords games' })).status).toBe(200)
      expect(sample(await service.metrics(), 'conversation_blocked_total{direction="message"}')).toBe(before + 3)
      expect((await service.rest('GET', `/api/v1/conversation/${childId}/history`)).body).toHaveLength(1)
    })

    it('answers 400 problem details naming each invalid field', async () => {
      const res = await service.rest('POST', '/api/v1/conversation', { childId: 'no spaces allowed', message: '' })
      expect(res.status).toBe(400)
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['#/body/childId', '#/body/message'])
    })
  })
}
