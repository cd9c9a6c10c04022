import { createApp, type PreflightReport } from '@plinth/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { secrets } from '../src/index.js'
import { startTestVault, type TestVault } from './vault-server.js'

const silent = { level: 'silent' } as const
const row = (report: PreflightReport, name: string) => report.results.find((r) => r.category === 'secrets' && r.name === name)
const require = ['JWT_SECRET', 'vault:secret/data/payments#apiKey']
const run = (env: NodeJS.ProcessEnv) => createApp({ name: 'shop', logging: silent, components: [secrets({ require })] }).preflight({ env: { APP_ENV: 'production', ...env }, only: 'secrets' })

describe('the secrets preflight', () => {
  let vault: TestVault
  beforeAll(async () => {
    vault = await startTestVault()
    vault.put('secret', 'payments', { apiKey: 'pk_live_7Hq2x9' })
  })
  afterAll(() => vault.close())

  it('Vault reachable, every declared secret present, a renewable token: all pass', async () => {
    const report = await run({ VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.createToken({ ttl: 600 }), JWT_SECRET: 'q8Vn2kLw0sZ5' })
    expect(report.results.map((r) => [r.name, r.status])).toEqual([
      ['store reachable', 'pass'],
      ['declared secrets present', 'pass'],
      ['Vault token TTL', 'pass'],
    ])
    expect(row(report, 'store reachable')!.found).toBe(`Vault at ${vault.addr}, logged in (token)`)
  })

  it('a missing secret and a placeholder fail with what to do; the other checks still pass', async () => {
    vault.put('secret', 'payments', { apiKey: 'changeme' })
    const placeholder = await run({ VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.createToken({ ttl: 600 }), JWT_SECRET: 'q8Vn2kLw0sZ5' })
    expect(row(placeholder, 'declared secrets present')).toMatchObject({ status: 'fail', found: 'placeholder values: vault:secret/data/payments#apiKey' })
    vault.put('secret', 'payments', { apiKey: 'pk_live_7Hq2x9' })
    const missing = await run({ VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.createToken({ ttl: 600 }) })
    expect(row(missing, 'declared secrets present')).toMatchObject({ status: 'fail', found: 'missing: JWT_SECRET', fix: expect.stringContaining('JWT_SECRET') })
    expect(row(missing, 'store reachable')).toMatchObject({ status: 'pass' })
  })

  it('a token that cannot be renewed and ends within the hour fails; a revoked one makes the store unreachable', async () => {
    const short = await run({ VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.createToken({ ttl: 120, renewable: false }), JWT_SECRET: 'q8Vn2kLw0sZ5' })
    expect(row(short, 'Vault token TTL')).toMatchObject({ status: 'fail', found: expect.stringMatching(/^1[12]\d s left and not renewable$/) })
    const token = vault.createToken({ ttl: 600 })
    vault.revoke(token)
    const revoked = await run({ VAULT_ADDR: vault.addr, VAULT_TOKEN: token, JWT_SECRET: 'q8Vn2kLw0sZ5' })
    expect(row(revoked, 'store reachable')).toMatchObject({ status: 'fail' })
    expect(row(revoked, 'store reachable')!.found).toMatch(/PLINTH_ERR_VAULT/)
  })

  it('without Vault, the environment is the store', async () => {
    const report = await createApp({ name: 'shop', logging: silent, components: [secrets({ require: ['JWT_SECRET'] })] }).preflight({ env: { JWT_SECRET: 'q8Vn2kLw0sZ5' }, only: 'secrets' })
    expect(report.results.every((r) => r.status === 'pass')).toBe(true)
    expect(row(report, 'store reachable')!.found).toBe('env: the process environment')
  })
})
