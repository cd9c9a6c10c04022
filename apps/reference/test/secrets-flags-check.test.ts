/**
 * `main.ts check` as an operator runs it: bad secret references and bad flags are found before
 * anything starts, each named with where it was written, and exit 78 as invalid configuration does.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestVault, type TestVault } from '../../../packages/secrets/test/vault-server.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

async function check(env: Record<string, string>, files: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-reference-check-'))
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(cwd, path, '..'), { recursive: true })
      await writeFile(join(cwd, path), content)
    }
    const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, main, 'check'], { cwd, env: { PATH: process.env.PATH, APP_ENV: 'development', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    return { code, output }
  } finally {
    await rm(cwd, { recursive: true, force: true })
  }
}

describe('main.ts check with secrets and flags', () => {
  let vault: TestVault
  beforeAll(async () => {
    vault = await startTestVault()
  })
  afterAll(async () => {
    await vault?.close()
  })

  it('finds a malformed secret reference and exits 78', async () => {
    const { code, output } = await check({ OPENAI_API_KEY: 'vault:secret/reference#openaiApiKey' })
    expect(code).toBe(78)
    expect(output).toContain('OPENAI_API_KEY = "vault:secret/reference#openaiApiKey" (env OPENAI_API_KEY): PLINTH_ERR_SECRET_REFERENCE')
  }, 60_000)

  it('finds a Vault path that does not exist, and the KV v1 mount, with VAULT_ADDR set', async () => {
    vault.mount('legacy', 1)
    const token = vault.createToken({ ttl: 600 })
    const { code, output } = await check({ VAULT_ADDR: vault.addr, VAULT_TOKEN: token, OPENAI_API_KEY: 'sk-env-value-0042', DATABASE_URL: 'vault:legacy/data/db#url' })
    expect(code).toBe(78)
    expect(output).toContain('PLINTH_ERR_SECRET_NOT_FOUND')
    expect(output).toContain('there is no secret at secret/data/reference')
    expect(output).toContain('DATABASE_URL = "vault:legacy/data/db#url" (env DATABASE_URL): PLINTH_ERR_SECRET_KV_VERSION')
    expect(output).not.toContain('sk-env-value-0042')
    expect(output).not.toContain(token)
  }, 60_000)

  it('passes once the secret is in Vault', async () => {
    vault.put('secret', 'reference', { openaiApiKey: 'sk-from-vault-0042' })
    const { code, output } = await check({ VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.createToken({ ttl: 600 }), AI_PROVIDER: 'openai' })
    expect(output).toContain('ok: configuration valid')
    expect(code).toBe(0)
    expect(output).not.toContain('sk-from-vault-0042')
  }, 60_000)

  it('finds a flag of an unknown type in the configuration file and exits 78', async () => {
    const { code, output } = await check({}, { 'config/development.yaml': 'flags:\n  ai.remote:\n    type: toggle\n    defaultVariant: on\n' })
    expect(code).toBe(78)
    expect(output).toMatch(/flags\.ai\.remote\.type = "toggle" \(config\/development\.yaml\): unknown flag type "toggle"; expected one of boolean, string, number, object/)
  }, 60_000)
})
