/**
 * Secrets by value, in a real process: an API key that the AI upstream echoes back in its 401
 * (as real providers do) and credentials in a URL setting that is not marked secret never appear
 * in anything the service prints or serves: its log lines, /health (where the circuit breaker
 * keeps the last error), /info, /boot, error responses, or the exit-78 message.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChatServer, type ChatServer } from './chat-completions-server.js'
import { freePorts } from './service.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/** Runs the service with `env`; resolves once it is ready (or has exited), with its output so far and a way to stop it. */
async function launch(env: Record<string, string>) {
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-reference-redaction-'))
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, main], {
    cwd,
    env: { PATH: process.env.PATH, ...freePorts, DATA_DIR: join(cwd, 'data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const http = await new Promise<string | undefined>((resolve) => {
    const poll = setInterval(() => {
      const line = output.split('\n').find((l) => l.includes('"msg":"ready in'))
      if (line === undefined) return
      clearInterval(poll)
      resolve((JSON.parse(line) as { endpoints: Array<{ name: string; url: string }> }).endpoints.find((e) => e.name === 'http')!.url)
    }, 50)
    void exited.then(() => {
      clearInterval(poll)
      resolve(undefined)
    })
  })
  return {
    http,
    exited,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM')
      const code = await exited
      await rm(cwd, { recursive: true, force: true })
      return code
    },
  }
}

describe('secrets by value, in everything a run prints or serves', () => {
  const apiKey = 'sk-live-0123456789abcdef'
  let chat: ChatServer
  beforeAll(async () => {
    chat = await startChatServer()
  })
  afterAll(async () => {
    await chat?.close()
  })

  it('masks an API key the AI upstream echoes back, in logs, /health, /info, /boot and responses', async () => {
    chat.answer({ status: 401, message: `Incorrect API key provided: ${apiKey}. You can find your API key at https://platform.example/account/api-keys.` })
    const service = await launch({
      APP_ENV: 'development',
      LOG_LEVEL: 'debug',
      AI_PROVIDER: 'openai',
      OPENAI_BASE_URL: chat.baseUrl,
      OPENAI_API_KEY: apiKey,
      CONVERSATION_OPENAI_ATTEMPTS: '1',
      CONVERSATION_OPENAI_FAILURE_THRESHOLD: '2',
    })
    expect(service.http, service.output()).toBeDefined()
    const bodies: string[] = []
    const get = async (path: string, init?: RequestInit) => {
      const text = await (await fetch(`${service.http}${path}`, init)).text()
      bodies.push(text)
      return text
    }
    for (let i = 0; i < 3; i++) {
      await get('/api/v1/conversation', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ childId: 'c1', message: 'Hello!' }) })
    }
    // The breaker's last error reaches /health (masked) at the check's next run (every 10 s), so
    // that the test would see the key if it leaked there.
    let health = ''
    for (let i = 0; i < 30 && !health.includes('Incorrect API key provided'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      health = await get('/health')
    }
    expect(health).toContain('Incorrect API key provided: [redacted]')
    await get('/info')
    await get('/boot')
    const code = await service.stop()
    expect(chat.requests.at(-1)?.authorization).toBe(`Bearer ${apiKey}`)
    const everything = `${service.output()}\n${bodies.join('\n')}`
    expect(everything).toContain('[redacted]')
    expect(everything.split('\n').filter((line) => line.includes(apiKey))).toEqual([])
    expect(code).toBe(0)
  }, 60_000)

  it('masks credentials in a URL setting that is not marked secret in the exit-78 message', async () => {
    const service = await launch({
      APP_ENV: 'production',
      OPENAI_BASE_URL: 'https//proxy-user:pw-url-secret@api.example/v1?api_key=sk-url-secret',
    })
    expect(service.http).toBeUndefined()
    const code = await service.exited
    await service.stop()
    expect(code).toBe(78)
    expect(service.output()).toContain('conversation.openai.baseUrl')
    expect(service.output()).not.toMatch(/url-secret/)
  }, 60_000)
})
