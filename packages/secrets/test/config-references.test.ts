import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { component, createApp, defineConfig, Health, isPlinthError } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { resolveSecretReferences, secretReferences, secrets, Secrets } from '../src/index.js'
import { startTestVault, type TestVault } from './vault-server.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const AppConfig = defineConfig({
  schema: z.object({
    ai: z.object({ apiKey: z.string().min(1), model: z.string().default('gpt-4o-mini') }),
    database: z.object({ url: z.string().default('file:./data/app.db') }).prefault({}),
    region: z.string().default('eu'),
  }),
  env: { OPENAI_API_KEY: 'ai.apiKey', DATABASE_URL: 'database.url', REGION: 'region' },
  secrets: ['database.url'],
})

async function vaultWithApp(): Promise<TestVault> {
  const vault = await startTestVault()
  vault.put('secret', 'app', { openaiApiKey: 'sk-from-vault-1234', dbUrl: 'postgres://app:pw-from-vault@db/app' })
  vault.mount('legacy', 1)
  vault.put('legacy', 'app', { openaiApiKey: 'old' })
  cleanup.push(() => vault.close())
  return vault
}

async function problemsOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPlinthError(error, 'PLINTH_ERR_INVALID_CONFIG')) throw new Error(`expected PLINTH_ERR_INVALID_CONFIG, got ${String(error)}`)
  expect(error.details.exitCode).toBe(78)
  return error.describe()
}

describe('resolveSecretReferences', () => {
  it('resolves a reference in a variable into its value before the configuration is loaded, and the key stays redacted', async () => {
    const vault = await vaultWithApp()
    const env: NodeJS.ProcessEnv = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey', DATABASE_URL: 'vault:secret/data/app#dbUrl' }
    const prepared = await resolveSecretReferences(AppConfig, { env })
    expect(env.OPENAI_API_KEY).toBe('sk-from-vault-1234')
    expect(prepared.bindings.map((b) => [b.variable, b.keys, b.source, b.version])).toEqual([
      ['OPENAI_API_KEY', ['ai.apiKey'], 'vault secret/data/app#openaiApiKey', 1],
      ['DATABASE_URL', ['database.url'], 'vault secret/data/app#dbUrl', 1],
    ])

    const seen = component('seen', { eager: true, deps: { config: AppConfig, secrets: Secrets, health: Health }, create: ({ config }) => ({ key: config.ai.apiKey }) })
    const app = createApp({ name: 'refs', config: AppConfig, components: [secrets(), seen], logging: { level: 'silent' } })
    await using t = await startTestApp(app, { env })
    expect(t.get(seen).key).toBe('sk-from-vault-1234')
    expect(t.app.config?.redacted()).toMatchObject({ ai: { apiKey: '[redacted]' }, database: { url: '[redacted]' } })

    // The component adopted what was prepared: /health says where each variable came from.
    const health = t.get(Health)
    await health.checkNow('secrets')
    const check = health.report().checks.find((c) => c.name === 'secrets')
    expect(check?.details).toMatchObject({
      store: 'chain(vault, env)',
      secrets: expect.arrayContaining([expect.objectContaining({ secret: 'vault:secret/data/app#openaiApiKey', source: 'vault secret/data/app#openaiApiKey', variable: 'OPENAI_API_KEY', keys: ['ai.apiKey'] })]),
    })
    expect(JSON.stringify(health.report())).not.toContain('sk-from-vault-1234')
  })

  it('takes a bound variable from Vault when VAULT_ADDR is set, and leaves it alone when it is not', async () => {
    const vault = await vaultWithApp()
    const bindings = { OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey' }
    const withVault: NodeJS.ProcessEnv = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, OPENAI_API_KEY: 'sk-from-env' }
    const prepared = await resolveSecretReferences(AppConfig, { env: withVault, vault: bindings })
    cleanup.push(() => prepared.secrets.close())
    expect(withVault.OPENAI_API_KEY).toBe('sk-from-vault-1234')

    const without: NodeJS.ProcessEnv = { OPENAI_API_KEY: 'sk-from-env' }
    const none = await resolveSecretReferences(AppConfig, { env: without, vault: bindings })
    expect(without.OPENAI_API_KEY).toBe('sk-from-env')
    expect(none.bindings).toEqual([])
  })

  it('falls back to the variable itself while Vault cannot answer at start', async () => {
    const vault = await vaultWithApp()
    vault.seal()
    const env: NodeJS.ProcessEnv = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, OPENAI_API_KEY: 'sk-from-env' }
    const prepared = await resolveSecretReferences(AppConfig, { env, vault: { OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey' } })
    cleanup.push(() => prepared.secrets.close())
    expect(env.OPENAI_API_KEY).toBe('sk-from-env')
    expect(prepared.bindings[0]?.source).toBe('env OPENAI_API_KEY')
  })

  it('reports every bad reference at once: malformed, missing path, missing field, KV v1 mount', async () => {
    const vault = await vaultWithApp()
    const env: NodeJS.ProcessEnv = {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
      OPENAI_API_KEY: 'vault:secret/app#openaiApiKey',
      DATABASE_URL: 'vault:secret/data/nope#dbUrl',
      REGION: 'vault:legacy/data/app#openaiApiKey',
      OTHER: 'vault:secret/data/app#missingField',
    }
    const text = await problemsOf(resolveSecretReferences(AppConfig, { env }))
    expect(text).toContain('secret references in the configuration have 4 problems')
    expect(text).toMatch(/OPENAI_API_KEY = "vault:secret\/app#openaiApiKey" \(env OPENAI_API_KEY\): PLINTH_ERR_SECRET_REFERENCE: malformed secret reference/)
    expect(text).toMatch(/DATABASE_URL = .*PLINTH_ERR_SECRET_NOT_FOUND: .*there is no secret at secret\/data\/nope/)
    expect(text).toMatch(/REGION = .*PLINTH_ERR_SECRET_KV_VERSION: the mount "legacy\/"/)
    expect(text).toMatch(/OTHER = .*no field "missingField"/)
    // Nothing was written: the variables keep their references.
    expect(env.DATABASE_URL).toBe('vault:secret/data/nope#dbUrl')
  })

  it('refuses a Vault reference when VAULT_ADDR is not set', async () => {
    const text = await problemsOf(resolveSecretReferences(AppConfig, { env: { OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey' } }))
    expect(text).toContain('OPENAI_API_KEY = "vault:secret/data/app#openaiApiKey" (env OPENAI_API_KEY): the reference names Vault, and VAULT_ADDR is not set')
  })

  it('refuses a secret for a key that would not be redacted, without printing the secret', async () => {
    const vault = await vaultWithApp()
    const env: NodeJS.ProcessEnv = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, OPENAI_API_KEY: 'sk', REGION: 'vault:secret/data/app#openaiApiKey' }
    const text = await problemsOf(resolveSecretReferences(AppConfig, { env }))
    expect(text).toContain('region = "[redacted]" (env REGION): PLINTH_ERR_SECRET_NOT_REDACTED')
    expect(text).not.toContain('sk-from-vault-1234')
  })

  it('takes the secret out of a configuration error that would quote it', async () => {
    const vault = await vaultWithApp()
    vault.put('secret', 'short', { region: 'abc-secret' })
    const Strict = defineConfig({ schema: z.object({ region: z.enum(['eu', 'us']) }), env: { REGION: 'region' } })
    const env: NodeJS.ProcessEnv = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, REGION: 'vault:secret/data/short#region' }
    const text = await problemsOf(resolveSecretReferences(Strict, { env }))
    expect(text).not.toContain('abc-secret')
    expect(text).toContain('[redacted]')
  })

  it('says a reference in a configuration file is not resolved there', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'plinth-secrets-'))
    cleanup.push(() => rm(cwd, { recursive: true, force: true }))
    await mkdir(join(cwd, 'config'))
    await writeFile(join(cwd, 'config/development.yaml'), 'ai:\n  apiKey: vault:secret/data/app#openaiApiKey\n')
    const text = await problemsOf(resolveSecretReferences(AppConfig, { env: {}, cwd }))
    expect(text).toContain('ai.apiKey = "vault:secret/data/app#openaiApiKey" (config/development.yaml): a secret reference is resolved only from an environment variable')
  })

  it('refuses VAULT_ADDR without a way to log in', async () => {
    const text = await problemsOf(resolveSecretReferences(AppConfig, { env: { VAULT_ADDR: 'http://127.0.0.1:1', OPENAI_API_KEY: 'vault:secret/data/app#k' } }))
    expect(text).toContain('PLINTH_ERR_SECRETS_SETTINGS: VAULT_ADDR is set (http://127.0.0.1:1) but no way to log in is')
  })
})

describe('secretReferences, a source of the configuration', () => {
  const WithSource = defineConfig({
    schema: z.object({ ai: z.object({ apiKey: z.string().min(1) }), region: z.string().default('eu') }),
    env: { OPENAI_API_KEY: 'ai.apiKey' },
    sources: [secretReferences()],
  })

  it('resolves references wherever the configuration is loaded: `check` and start, with no call before them', async () => {
    const vault = await vaultWithApp()
    const env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, OPENAI_API_KEY: 'vault:secret/data/app#openaiApiKey' }
    const seen = component('seen', { eager: true, deps: { config: WithSource, secrets: Secrets }, create: ({ config, secrets }) => ({ key: config.ai.apiKey, secrets }) })
    const app = createApp({ name: 'refs', config: WithSource, components: [secrets(), seen], logging: { level: 'silent' } })
    const checked = await app.check({ env: { ...env } })
    expect(checked.problems).toEqual([])
    await using t = await startTestApp(app, { env })
    expect(t.get(seen).key).toBe('sk-from-vault-1234')
    // The secrets component adopted what the source resolved: its health names the variable and where it came from.
    const health = JSON.stringify(t.get(seen).secrets.health())
    expect(health).toContain('OPENAI_API_KEY')
    expect(health).toContain('vault')
    expect(health).not.toContain('sk-from-vault-1234')
  })

  it('fails `check` with every bad reference, as invalid configuration', async () => {
    const vault = await vaultWithApp()
    const app = createApp({ name: 'refs', config: WithSource, logging: { level: 'silent' } })
    const text = await problemsOf(app.check({ env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, OPENAI_API_KEY: 'vault:secret/data/nowhere#openaiApiKey' } }))
    expect(text).toContain('OPENAI_API_KEY = "vault:secret/data/nowhere#openaiApiKey"')
  })
})
