import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type PreflightReport } from '@plinth/core'
import { afterAll, describe, expect, it } from 'vitest'
import { featureFlags } from '../src/index.js'

const silent = { level: 'silent' } as const
const dir = mkdtempSync(join(tmpdir(), 'plinth-flags-preflight-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const row = (report: PreflightReport) => report.results.find((r) => r.category === 'flags')
const checkout = { 'new-checkout': { type: 'boolean', defaultVariant: 'off', environments: { staging: 'on' } } } as const

describe('the flags preflight', () => {
  it('evaluates every flag of the configuration and the file', async () => {
    const file = join(dir, 'flags.json')
    writeFileSync(file, JSON.stringify({ flags: { 'dark-mode': { type: 'boolean', defaultVariant: 'on' } } }))
    const app = createApp({ name: 'shop', logging: silent, components: [featureFlags({ flags: checkout, file })] })
    expect(row(await app.preflight({ env: { APP_ENV: 'production' }, only: 'flags' }))).toMatchObject({ status: 'pass', found: `2 flags evaluated, file ${file} valid` })
  })

  it('an invalid flag file fails with where the problem is', async () => {
    const file = join(dir, 'broken.json')
    writeFileSync(file, JSON.stringify({ flags: { 'dark-mode': { type: 'boolean', defaultVariant: 'maybe' } } }))
    const app = createApp({ name: 'shop', logging: silent, components: [featureFlags({ flags: checkout, file })] })
    const result = row(await app.preflight({ env: { APP_ENV: 'production' }, only: 'flags' }))
    expect(result).toMatchObject({ status: 'fail', found: expect.stringContaining('dark-mode') })
    expect(result!.fix).toBeTruthy()
  })
})
