import { createApp, type PreflightReport } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { auth, KeyRing, MemoryAuthStore, type AuthComponentOptions } from '../src/index.js'

const silent = { level: 'silent' } as const
const row = (report: PreflightReport, name: string) => report.results.find((r) => r.category === 'security' && r.name === name)
const base = { roles: { user: [] }, issuer: 'https://api.example', audience: 'api', store: new MemoryAuthStore() }
const run = (options: Partial<AuthComponentOptions>, appEnv = 'production') =>
  createApp({ name: 'api', logging: silent, components: [...auth({ ...base, ...options })] }).preflight({ env: { APP_ENV: appEnv }, only: 'security' })

describe('the auth preflight', () => {
  it('shared signing keys that load pass; none in production fails with the fix', async () => {
    const ring = await KeyRing.generate({ retainFor: 60_000 })
    const keys = await ring.exportPrivateJwks()
    expect(row(await run({ signingKeys: keys }), 'JWT signing keys')).toMatchObject({ status: 'pass', found: '1 EdDSA key (Ed25519)' })
    expect(row(await run({}), 'JWT signing keys')).toMatchObject({ status: 'fail', fix: expect.stringContaining('signingKeys') })
    expect(row(await run({}, 'development'), 'JWT signing keys')).toMatchObject({ status: 'pass' })
  })

  it('a public key given as a signing key fails with what start-up would say', async () => {
    const ring = await KeyRing.generate({ retainFor: 60_000 })
    const { d: _d, ...publicOnly } = (await ring.exportPrivateJwks())[0]!
    expect(row(await run({ signingKeys: [publicOnly] }), 'JWT signing keys')).toMatchObject({ status: 'fail', found: expect.stringContaining('is a public key') })
  })

  it('long-lived access tokens and a placeholder pepper fail in production', async () => {
    const report = await run({ accessTokenLifetime: 86_400, pepper: 'changeme' })
    expect(row(report, 'token lifetimes and pepper')).toMatchObject({ status: 'fail', found: expect.stringMatching(/86400 s.*pepper is a placeholder/) })
  })
})
