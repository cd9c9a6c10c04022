/**
 * The conversation module with an OpenAI-compatible provider, against a local server speaking
 * the chat-completions wire format: the request it sends, retries, the timeout, the circuit
 * breaker opening and closing, and the fallback to the local provider.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Health } from '@plinth/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChatServer, type ChatServer } from './chat-completions-server.js'
import { sample, startService, unique, type Service } from './service.js'

const local = { hello: "Hello! I'm happy to talk with you. What shall we talk about today?" }

describe('an OpenAI-compatible AI provider', () => {
  let chat: ChatServer
  let service: Service
  const converse = (childId: string, message: string) => service.rest('POST', '/api/v1/conversation', { childId, message })
  /** The ai-provider check as /health shows it, run now rather than on its interval. */
  const aiCheck = async () => {
    await (await service.t.resolve(Health)).checkNow('ai-provider')
    return ((await service.rest('GET', '/health')).body.checks as Array<{ name: string; status: string; details?: any }>).find((c) => c.name === 'ai-provider')!
  }

  beforeAll(async () => {
    chat = await startChatServer()
    service = await startService({
      AI_PROVIDER: 'openai',
      OPENAI_BASE_URL: chat.baseUrl,
      OPENAI_MODEL: 'companion-small',
      OPENAI_API_KEY: 'sk-test-secret',
      CONVERSATION_OPENAI_TIMEOUT: '200',
      CONVERSATION_OPENAI_ATTEMPTS: '2',
      CONVERSATION_OPENAI_RETRY_DELAY: '1',
      CONVERSATION_OPENAI_FAILURE_THRESHOLD: '2',
      CONVERSATION_OPENAI_RESET_TIMEOUT: '500',
    })
  })
  afterAll(async () => {
    await service?.stop()
    await chat?.close()
  })

  it('sends the persona, the conversation so far and the message, and replies with the model', async () => {
    const childId = unique('child')
    chat.answer({ reply: 'Hi! What is your favourite animal?' }, { reply: 'Elephants are wonderful.' })
    expect((await converse(childId, 'Hello!')).body).toMatchObject({ reply: 'Hi! What is your favourite animal?', provider: 'openai', fallback: false })
    expect((await converse(childId, 'Elephants')).body).toMatchObject({ reply: 'Elephants are wonderful.', provider: 'openai' })

    const persona = await readFile(join(service.dataDir, 'conversation/persona.md'), 'utf8')
    const last = chat.requests.at(-1)!
    expect(last.path).toBe('/v1/chat/completions')
    expect(last.authorization).toBe('Bearer sk-test-secret')
    expect(last.body.model).toBe('companion-small')
    expect(last.body.messages).toEqual([
      { role: 'system', content: persona },
      { role: 'user', content: 'Hello!' },
      { role: 'assistant', content: 'Hi! What is your favourite animal?' },
      { role: 'user', content: 'Elephants' },
    ])
    // The API key is a secret: never in the printable configuration.
    expect(JSON.stringify(service.app.config?.redacted())).not.toContain('sk-test-secret')
  })

  it('retries a failure that may pass', async () => {
    const calls = chat.requests.length
    chat.answer({ status: 503, message: 'overloaded' }, { reply: 'Second time lucky.' })
    expect((await converse(unique('child'), 'Tell me a joke')).body).toMatchObject({ reply: 'Second time lucky.', provider: 'openai', fallback: false })
    expect(chat.requests.length - calls).toBe(2)
  })

  it('does not retry a refusal, and the local provider answers', async () => {
    const calls = chat.requests.length
    chat.answer({ status: 401, message: 'invalid api key' }, { reply: 'Recovered.' })
    expect((await converse(unique('child'), 'Hello!')).body).toMatchObject({ reply: local.hello, provider: 'local', fallback: true })
    expect(chat.requests.length - calls).toBe(1)
    // A success in between keeps the circuit closed for what follows.
    expect((await converse(unique('child'), 'Hello!')).body).toMatchObject({ provider: 'openai' })
  })

  it('falls back when calls fail or time out, stops calling once the circuit opens, and closes it again', async () => {
    const calls = chat.requests.length
    chat.answer({ status: 500, message: 'boom' }, { hang: 400 }, { hang: 400 }, { status: 500, message: 'still down' })
    // Two failed replies in a row, each after two attempts (a 500 and a timeout, a timeout and a 500), open the circuit.
    expect((await converse(unique('child'), 'Hello!')).body).toMatchObject({ reply: local.hello, provider: 'local', fallback: true })
    expect((await converse(unique('child'), 'Hello!')).body).toMatchObject({ provider: 'local', fallback: true })
    expect(chat.requests.length - calls).toBe(4)

    const open = await aiCheck()
    expect([open.status, open.details.breaker.state]).toEqual(['degraded', 'open'])
    // While open, the API is not called at all.
    const called = chat.requests.length
    expect((await converse(unique('child'), 'Hello!')).body).toMatchObject({ provider: 'local', fallback: true })
    expect(chat.requests.length).toBe(called)

    chat.answer({ reply: 'I am back.' })
    await new Promise((resolve) => setTimeout(resolve, 550))
    expect((await converse(unique('child'), 'Hello!')).body).toMatchObject({ reply: 'I am back.', provider: 'openai', fallback: false })
    expect((await aiCheck()).status).toBe('up')
    const metrics = await service.metrics()
    expect(sample(metrics, 'conversation_replies_total{provider="local",fallback="true",channel="rest"}')).toBe(4)
  })

  it("refuses a reply the safety filter blocks, with a problem that says so, and stores nothing", async () => {
    const childId = unique('child')
    chat.answer({ reply: 'Sure! Tell me your home address and I will visit.' })
    const res = await converse(childId, 'Can you visit me?')
    expect(res.status).toBe(422)
    expect(res.body).toMatchObject({ type: 'urn:plinth:reference:problem:content-blocked', blocked: 'reply', detail: "the companion's reply was blocked by the safety filter; nothing was stored" })
    expect(sample(await service.metrics(), 'conversation_blocked_total{direction="reply"}')).toBe(1)
    expect((await service.rest('GET', `/api/v1/conversation/${childId}/history`)).body).toEqual([])
  })
})
