/**
 * Asynchronous configuration sources: they run before the values are read wherever the
 * configuration is loaded (loadConfig, `check`, start), may write resolved values into the
 * environment, and fail the load as invalid configuration.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createApp } from '../src/app/create-app.js'
import { defineConfig, loadConfig, type ConfigSource } from '../src/config/config.js'
import { isPlinthError } from '../src/errors.js'

/** Resolves `remote:<name>` values from a map, as a secret store would, after a pause. */
function remote(values: Record<string, string>, calls: string[] = []): ConfigSource {
  return {
    name: 'remote values',
    resolve: async ({ env }) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      for (const [variable, value] of Object.entries(env)) {
        if (!value?.startsWith('remote:')) continue
        const name = value.slice('remote:'.length)
        calls.push(name)
        if (!(name in values)) throw new Error(`no remote value "${name}" (asked for by ${variable})`)
        env[variable] = values[name]
      }
    },
  }
}

const schema = z.object({ apiKey: z.string().min(8), region: z.string().default('eu') })

describe('configuration sources', () => {
  it('resolve values before they are read, in loadConfig', async () => {
    const Config = defineConfig({ schema, sources: [remote({ 'payments-key': 'sk-12345678' })] })
    const env = { API_KEY: 'remote:payments-key' }
    const loaded = await loadConfig(Config, { env, cwd: '/nonexistent' })
    expect(loaded.value).toEqual({ apiKey: 'sk-12345678', region: 'eu' })
    expect(loaded.sources.get('apiKey')).toBe('env API_KEY')
    expect(env.API_KEY).toBe('sk-12345678')
  })

  it('are skipped with sources: false, for a source that loads the configuration itself', async () => {
    const calls: string[] = []
    const Config = defineConfig({ schema, sources: [remote({ 'payments-key': 'sk-12345678' }, calls)] })
    const loaded = await loadConfig(Config, { env: { API_KEY: 'remote:payments-key' }, cwd: '/nonexistent', sources: false })
    expect(calls).toEqual([])
    // The reference reaches the schema as it is.
    expect(loaded.value.apiKey).toBe('remote:payments-key')
  })

  it('run at check, so that a value that cannot be resolved is found before anything starts', async () => {
    const Config = defineConfig({ schema, sources: [remote({})] })
    const app = createApp({ name: 'payments', config: Config, logging: { level: 'silent' } })
    const failed = await app.check({ env: { API_KEY: 'remote:missing' }, cwd: '/nonexistent' }).catch((error: unknown) => error)
    expect(isPlinthError(failed, 'PLINTH_ERR_INVALID_CONFIG')).toBe(true)
    expect((failed as Error).message).toMatch(/^the configuration source "remote values" of the configuration declared at .*config-sources\.test\.ts:\d+ failed: no remote value "missing" \(asked for by API_KEY\)$/)
  })

  it('run at start, and the app gets the resolved value', async () => {
    const Config = defineConfig({ schema, sources: [remote({ 'payments-key': 'sk-87654321' })] })
    const app = createApp({ name: 'payments', config: Config, logging: { level: 'silent' } })
    await app.start({ env: { API_KEY: 'remote:payments-key' }, cwd: '/nonexistent' })
    try {
      expect(app.config?.value).toEqual({ apiKey: 'sk-87654321', region: 'eu' })
    } finally {
      await app.stop()
    }
  })
})
