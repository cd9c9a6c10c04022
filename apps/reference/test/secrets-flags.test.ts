/**
 * Secrets from Vault and the ai.remote feature flag, end to end: the OpenAI-compatible
 * provider's key comes from a Vault server written from Vault's API documentation, the remote
 * chat-completions server goes down (behind a TCP proxy) and comes back, and nothing the run
 * writes or answers ever shows a secret.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Health, isPlinthError } from '@plinth/core'
import { startTestApp, TcpProxy, type TestApp } from '@plinth/core/testing'
import { Secrets, resolveSecretReferences } from '@plinth/secrets'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestVault, type TestVault } from '../../../packages/secrets/test/vault-server.js'
import { createReferenceApp } from '../src/app.js'
import { AppConfig } from '../src/config.js'
import { prepareSecrets, vaultBindings } from '../src/modules/features/secrets.js'
import { startChatServer, type ChatServer } from './chat-completions-server.js'
import { freePorts, unique } from './service.js'

const vaultKey = 'sk-vault-4f1c9a02be37d1'
const rotatedKey = 'sk-vault-rotated-77aa01c3'
const envKey = 'sk-env-fallback-93bd2e'

describe('the reference service with Vault and the ai.remote flag', () => {
  let vault: TestVault
  let chat: ChatServer
  let proxy: TcpProxy
  let t: TestApp
  let dir: string
  let http: string
  let token: string
  /** Every line the service logged, and every body it answered: what the no-leak test reads. */
  const output: string[] = []

  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${http}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
    const text = await res.text()
    output.push(text)
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text)) }
  }
  const converse = (message: string) => rest('POST', '/api/v1/conversation', { childId: unique('child'), message })
  const checkNow = async (...names: string[]) => (await t.resolve(Health)).checkNow(...names)

  beforeAll(async () => {
    vault = await startTestVault()
    vault.put('secret', 'reference', { openaiApiKey: vaultKey })
    token = vault.createToken({ ttl: 3600 })
    chat = await startChatServer()
    proxy = await TcpProxy.create({ host: '127.0.0.1', port: Number(new URL(chat.baseUrl).port) })
    dir = await mkdtemp(join(tmpdir(), 'plinth-reference-secrets-'))
    const env: NodeJS.ProcessEnv = {
      ...freePorts,
      DATA_DIR: join(dir, 'data'),
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: token,
      AI_PROVIDER: 'openai',
      OPENAI_BASE_URL: `http://127.0.0.1:${proxy.port}/v1`,
      OPENAI_API_KEY: envKey,
      CONVERSATION_OPENAI_TIMEOUT: '1000',
      CONVERSATION_OPENAI_ATTEMPTS: '1',
    }
    await prepareSecrets(env)
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output.push(chunk.toString('utf8'))
        done()
      },
    })
    const app = createReferenceApp({ logging: { level: 'trace', destination } })
    t = await startTestApp(app, { cwd: dir, env })
    http = app.endpoints().find((e) => e.name === 'http')!.url
    // Settles the runs the registry starts at ready, so that each checkNow below sees what the test changed.
    await checkNow()
  })
  afterAll(async () => {
    await t?.stop()
    await proxy?.close()
    await chat?.close()
    await vault?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('replies with the remote provider, called with the API key from Vault', async () => {
    chat.answer({ reply: 'Hello from the model.' })
    expect((await converse('Hello!')).body).toMatchObject({ reply: 'Hello from the model.', provider: 'openai', fallback: false })
    expect(chat.requests.at(-1)?.authorization).toBe(`Bearer ${vaultKey}`)
  })

  it('says at /health where the key came from, never what it is', async () => {
    await checkNow('secrets')
    const health = await rest('GET', '/health')
    const secrets = (health.body.checks as Array<{ name: string; details: any }>).find((c) => c.name === 'secrets')
    expect(secrets?.details).toMatchObject({
      store: 'chain(vault, env)',
      vault: { auth: 'token', state: 'active' },
      secrets: [{ secret: 'vault:secret/data/reference#openaiApiKey', source: 'vault secret/data/reference#openaiApiKey', version: 1, variable: 'OPENAI_API_KEY', keys: ['conversation.openai.apiKey'] }],
    })
  })

  it('answers from the local provider while the remote API is down, without calling it, and returns by itself', async () => {
    await proxy.close()
    await checkNow('ai-remote')
    const calls = chat.requests.length
    expect((await converse('Hello!')).body).toMatchObject({ provider: 'local', fallback: true })
    expect((await converse('Tell me a story')).body).toMatchObject({ provider: 'local', fallback: true })
    expect(chat.requests.length).toBe(calls)
    await checkNow('feature-flags')
    const flags = ((await rest('GET', '/health')).body.checks as Array<{ name: string; details: any }>).find((c) => c.name === 'feature-flags')
    expect(flags?.details.flags['ai.remote']).toMatchObject({ source: 'config', fallback: { check: 'ai-remote', checkStatus: 'down', fallingBack: true } })

    await proxy.open()
    await checkNow('ai-remote')
    chat.answer({ reply: 'I am back.' })
    expect((await converse('Hello again')).body).toMatchObject({ reply: 'I am back.', provider: 'openai', fallback: false })

    const metrics = await (await fetch(t.app.endpoints().find((e) => e.name === 'metrics')!.url)).text()
    output.push(metrics)
    expect(metrics).toContain('app_feature_flag_fallback_changes_total{flag="ai.remote",state="fallback"} 1')
    expect(metrics).toContain('app_feature_flag_fallback_changes_total{flag="ai.remote",state="normal"} 1')
    expect(metrics).toMatch(/app_feature_flag_evaluations_total\{flag="ai.remote",variant="off"\} 2/)
  })

  it('uses a key rotated in Vault from the next reply, without a restart', async () => {
    vault.put('secret', 'reference', { openaiApiKey: rotatedKey })
    await t.get(Secrets).refresh()
    chat.answer({ reply: 'Rotated.' })
    expect((await converse('Hello!')).body).toMatchObject({ reply: 'Rotated.', provider: 'openai' })
    expect(chat.requests.at(-1)?.authorization).toBe(`Bearer ${rotatedKey}`)
  })

  it('never shows a secret: not in logs, /health, /info, /boot, problem details, metrics or configuration errors', async () => {
    // Problem details of every kind the service answers.
    expect((await rest('POST', '/api/v1/conversation', { childId: 'c', message: 'My password is tulip' })).status).toBe(422)
    expect((await rest('POST', '/api/v1/conversation', { message: 42 })).status).toBe(400)
    expect((await rest('GET', '/api/v1/nothing-here')).status).toBe(404)
    await checkNow()
    for (const path of ['/health', '/health/ready', '/info', '/boot', '/docs/json']) await rest('GET', path)
    output.push(JSON.stringify(t.app.config?.redacted()), JSON.stringify(t.app.timeline()))
    // A configuration error raised while resolving, with the secrets resolved beside it.
    const failed = await resolveSecretReferences(AppConfig, {
      env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: token, OPENAI_API_KEY: 'vault:secret/data/reference#openaiApiKey', DATABASE_URL: 'vault:secret/data/reference#missing' },
      vault: vaultBindings,
    }).catch((error: unknown) => error)
    expect(isPlinthError(failed, 'PLINTH_ERR_INVALID_CONFIG')).toBe(true)
    output.push((failed as Error & { describe(): string }).describe(), JSON.stringify((failed as { details: unknown }).details))

    const everything = output.join('\n')
    expect(everything.length).toBeGreaterThan(10_000)
    expect(everything).toContain('secret/data/reference#openaiApiKey')
    for (const secret of [vaultKey, rotatedKey, envKey, token]) expect(everything).not.toContain(secret)
  })
})

describe('the reference service without VAULT_ADDR', () => {
  it('takes the API key from the environment and leaves it as it is', async () => {
    const env: NodeJS.ProcessEnv = { AI_PROVIDER: 'openai', OPENAI_API_KEY: envKey }
    const prepared = await prepareSecrets(env)
    expect(env.OPENAI_API_KEY).toBe(envKey)
    expect(prepared.bindings).toEqual([])
  })
})
