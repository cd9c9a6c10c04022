import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProviderEvents } from '@openfeature/server-sdk'
import { createApp, Health, HealthChecks, Metrics, provide, type AnyProvider } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { FeatureFlags, FlagSubject, featureFlags, type FeatureFlagsOptions } from '../src/index.js'
import { logLines, until } from './helpers.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A health check the test turns down and up. */
function remoteCheck(breaker: false | { failureThreshold: number; resetTimeout: number } = false) {
  const state = { down: false }
  const check = provide(HealthChecks, { value: { name: 'remote', critical: false, breaker, interval: 60_000, check: () => (state.down ? Promise.reject(new Error('connection refused')) : undefined) } })
  return { state, check }
}

async function startFlags(options: FeatureFlagsOptions, extra: AnyProvider[] = [], env: NodeJS.ProcessEnv = {}) {
  const log = logLines()
  // Each app its own OpenFeature domain: OpenFeature's API is one per process.
  const app = createApp({ name: `flags-${randomUUID()}`, components: [featureFlags(options), ...extra], logging: { level: 'debug', destination: log.destination }, shutdown: { drainDelay: 0 } })
  const t = await startTestApp(app, { env })
  cleanup.push(() => t.stop())
  return { t, flags: t.get(FeatureFlags), health: t.get(Health), log }
}

const aiRemote = { 'ai.remote': { type: 'boolean', defaultVariant: 'on', fallback: { check: 'remote', variant: 'off' } } } as const

describe('featureFlags: configuration, environments and targeting through OpenFeature', () => {
  it("evaluates a flag from the configuration with the environment's variant", async () => {
    const definitions = { checkout: { type: 'string', variants: { classic: 'classic', modern: 'modern' }, defaultVariant: 'classic', environments: { staging: 'modern' } } } as const
    const staging = await startFlags({ flags: definitions }, [], { APP_ENV: 'staging' })
    expect(await staging.flags.getStringValue('checkout', 'none')).toBe('modern')
    const production = await startFlags({ flags: definitions }, [], { APP_ENV: 'production' })
    expect(await production.flags.getStringDetails('checkout', 'none')).toMatchObject({ value: 'classic', variant: 'classic', reason: 'STATIC' })
  })

  it("takes the user, roles and tenant of the current scope as the evaluation context, the caller's context over it", async () => {
    const subject = provide(FlagSubject, { lifetime: 'scoped', scope: 'request', create: () => ({ userId: 'user-7', roles: ['beta'], tenant: 'acme' }) })
    const { t, flags } = await startFlags({ flags: { beta: { type: 'boolean', defaultVariant: 'off', rules: [{ when: { attribute: 'roles', includes: 'beta' }, variant: 'on' }] } } }, [subject])
    expect(await flags.getBooleanValue('beta', false)).toBe(false) // no scope: no subject
    const inScope = await t.app.container.runInScope('request', () => flags.getBooleanDetails('beta', false))
    expect(inScope).toMatchObject({ value: true, reason: 'TARGETING_MATCH' })
    const overridden = await t.app.container.runInScope('request', () => flags.getBooleanValue('beta', false, { roles: ['staff'] }))
    expect(overridden).toBe(false)
  })

  it('counts every evaluation by flag and variant', async () => {
    const { t, flags } = await startFlags({ flags: aiRemote }, [remoteCheck().check])
    await flags.getBooleanValue('ai.remote', false)
    await flags.getBooleanValue('ai.remote', false)
    await flags.getBooleanValue('missing', false)
    const text = (await t.get(Metrics).render()).body
    expect(text).toContain('app_feature_flag_evaluations_total{flag="ai.remote",variant="on"} 2')
    expect(text).toContain('app_feature_flag_evaluations_total{flag="missing",variant="error"} 1')
  })

  it("answers a flag that does not exist with the caller's default and says which flags there are", async () => {
    const { flags } = await startFlags({ flags: aiRemote }, [remoteCheck().check])
    expect(await flags.getBooleanDetails('ai.remot', true)).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND', errorMessage: 'no feature flag "ai.remot"; the flags are: ai.remote' })
    expect(await flags.getStringDetails('ai.remote', 'x')).toMatchObject({ value: 'x', errorCode: 'TYPE_MISMATCH' })
  })
})

describe('featureFlags: health fallback', () => {
  it('falls back while the bound check is down and returns by itself when it is up, logging and counting each change', async () => {
    const remote = remoteCheck()
    const { t, flags, health, log } = await startFlags({ flags: aiRemote }, [remote.check])
    await health.checkNow('remote')
    expect(await flags.getBooleanValue('ai.remote', false)).toBe(true)

    remote.state.down = true
    await health.checkNow('remote')
    expect(await flags.getBooleanDetails('ai.remote', true)).toMatchObject({ value: false, variant: 'off', reason: 'FALLBACK' })
    await health.checkNow('feature-flags')
    expect(health.report().checks.find((c) => c.name === 'feature-flags')?.details).toMatchObject({ flags: { 'ai.remote': { fallback: { check: 'remote', checkStatus: 'down', fallingBack: true } } } })

    remote.state.down = false
    await health.checkNow('remote')
    expect(await flags.getBooleanValue('ai.remote', false)).toBe(true)

    const changes = log.records().filter((r) => r.flag === 'ai.remote' && typeof r.msg === 'string' && r.msg.startsWith('feature flag ai.remote'))
    expect(changes.map((r) => r.msg)).toEqual(['feature flag ai.remote falls back to "off": remote is down', 'feature flag ai.remote is back to its rules: remote is up'])
    const text = (await t.get(Metrics).render()).body
    expect(text).toContain('app_feature_flag_fallback_changes_total{flag="ai.remote",state="fallback"} 1')
    expect(text).toContain('app_feature_flag_fallback_changes_total{flag="ai.remote",state="normal"} 1')
    expect(text).toContain('app_feature_flag_fallback_active{flag="ai.remote"} 0')
  })

  it('falls back while the check\'s circuit is open, and returns once a trial closes it', async () => {
    const remote = remoteCheck({ failureThreshold: 1, resetTimeout: 100 })
    const { flags, health } = await startFlags({ flags: aiRemote }, [remote.check])
    await health.checkNow('remote') // joins the run the registry starts at ready, so that the next one sees the change
    remote.state.down = true
    await health.checkNow('remote')
    expect(health.breaker('remote')?.state).toBe('open')
    expect(await flags.getBooleanValue('ai.remote', true)).toBe(false)
    remote.state.down = false
    await until(async () => {
      await health.checkNow('remote')
      return flags.getBooleanValue('ai.remote', false)
    }, 'the flag to return after the circuit closes')
    expect(health.breaker('remote')?.state).toBe('closed')
  })

  it("tells OpenFeature's handlers when a fallback changes a flag", async () => {
    const remote = remoteCheck()
    const { flags, health } = await startFlags({ flags: aiRemote }, [remote.check])
    await health.checkNow('remote')
    const changed: string[][] = []
    flags.addHandler(ProviderEvents.ConfigurationChanged, (details) => changed.push(details?.flagsChanged ?? []))
    remote.state.down = true
    await health.checkNow('remote')
    await until(() => changed.length > 0, 'the change event')
    expect(changed).toEqual([['ai.remote']])
  })

  it('refuses to start with a flag bound to a check that does not exist, naming the checks', async () => {
    const app = createApp({ name: `flags-${randomUUID()}`, components: [featureFlags({ flags: aiRemote })], logging: { level: 'silent' } })
    await expect(startTestApp(app)).rejects.toThrow(/flag "ai.remote" falls back on health check "remote", and there is no such check; the checks are: feature-flags/)
  })
})

describe('featureFlags: the flag file', () => {
  async function flagFile(content: unknown): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'plinth-flags-'))
    cleanup.push(() => rm(dir, { recursive: true, force: true }))
    const path = join(dir, 'flags.json')
    await writeFile(path, JSON.stringify(content))
    return path
  }

  it('reads flags from the file over the configuration, and follows changes while the app runs', async () => {
    const path = await flagFile({ flags: { banner: { type: 'string', variants: { a: 'winter', b: 'spring' }, defaultVariant: 'a' } } })
    const { flags, health, log } = await startFlags({ flags: { banner: { type: 'string', variants: { c: 'config' }, defaultVariant: 'c' } }, file: path })
    expect(await flags.getStringValue('banner', 'none')).toBe('winter')
    await writeFile(path, JSON.stringify({ flags: { banner: { type: 'string', variants: { a: 'winter', b: 'spring' }, defaultVariant: 'b' } } }))
    await until(async () => (await flags.getStringValue('banner', 'none')) === 'spring', 'the file change to apply')
    expect(log.records().some((r) => r.msg === 'feature flag file reloaded: 1 flags, changed: banner')).toBe(true)
    await health.checkNow('feature-flags')
    expect(health.report().checks.find((c) => c.name === 'feature-flags')).toMatchObject({ status: 'up', details: { flags: { banner: { source: 'file' } }, file: { path, error: undefined } } })
  })

  it('keeps the last good flags when the file turns invalid, with the error in health, until it is fixed', async () => {
    const path = await flagFile({ flags: { banner: { type: 'boolean', defaultVariant: 'on' } } })
    const { t, flags, health, log } = await startFlags({ file: path })
    await writeFile(path, JSON.stringify({ flags: { banner: { type: 'toggle', defaultVariant: 'on' } } }))
    await until(() => log.records().some((r) => String(r.msg).startsWith('feature flag file refused')), 'the refusal')
    expect(await flags.getBooleanValue('banner', false)).toBe(true)
    await health.checkNow('feature-flags')
    const check = health.report().checks.find((c) => c.name === 'feature-flags')
    expect(check?.status).toBe('degraded')
    expect((check?.details as { file: { error: string } }).file.error).toContain('flags.json:flags.banner.type: unknown flag type "toggle"')

    await writeFile(path, JSON.stringify({ flags: { banner: { type: 'boolean', defaultVariant: 'off' } } }))
    await until(async () => (await flags.getBooleanValue('banner', true)) === false, 'the fixed file to apply')
    await health.checkNow('feature-flags')
    expect(health.report().checks.find((c) => c.name === 'feature-flags')?.status).toBe('up')
    const text = (await t.get(Metrics).render()).body
    expect(text).toContain('app_feature_flag_file_reloads_total{result="refused"} 1')
    expect(text).toMatch(/app_feature_flag_file_reloads_total\{result="applied"\} [1-9]/)
  })

  it('refuses to start with an invalid file, listing every problem, or a file that is not there', async () => {
    const path = await flagFile({ flags: { a: { type: 'bool', defaultVariant: 'on' }, b: { type: 'number', variants: { one: '1' }, defaultVariant: 'one' } } })
    const app = createApp({ name: `flags-${randomUUID()}`, components: [featureFlags({ file: path })], logging: { level: 'silent' } })
    const error = await startTestApp(app).then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: Error },
    )
    const text = `${error?.message}\n${error?.cause?.message ?? ''}`
    expect(text).toContain('has 2 problems')
    expect(text).toContain('flags.json:flags.a.type: unknown flag type "bool"; expected one of boolean, string, number, object')
    expect(text).toContain('flags.json:flags.b.variants.one: expected a number')

    const missing = createApp({ name: `flags-${randomUUID()}`, components: [featureFlags({ file: join(tmpdir(), `no-such-${randomUUID()}.json`) })], logging: { level: 'silent' } })
    await expect(startTestApp(missing)).rejects.toThrow(/cannot read the flag file/)
  })

  it('refuses to start with invalid flags in the configuration', async () => {
    const app = createApp({ name: `flags-${randomUUID()}`, components: [featureFlags({ flags: { x: { type: 'boolean', defaultVariant: 'maybe' } } })], logging: { level: 'silent' } })
    await expect(startTestApp(app)).rejects.toThrow(/flags.x.defaultVariant: "maybe" is not a variant of the flag; its variants are on, off/)
  })
})

