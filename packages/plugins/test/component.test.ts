import { Health, createApp } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { describe, expect, it } from 'vitest'
import { pluginHost } from '../src/index.js'
import { fixtures, tempDir } from './helpers.js'

describe('the plugin host as a component', () => {
  it('starts plugins with the app, reports them in /health (degraded by a failed one), and stops them with it', async () => {
    const plugins = pluginHost({ dirs: [`${fixtures}lifecycle`], dataDir: await tempDir('plinth-plugins-component-'), trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
    await using t = await startTestApp(createApp({ name: 'plugins-test', components: [plugins], logging: { level: 'silent' } }))
    const host = t.get(plugins)
    expect(await host.call('base', 'ok')).toBe('base')
    const health = await t.resolve(Health)
    // Nothing in this app depends on Health, so it was not started with it; servers usually start it.
    health.start()
    await health.checkNow('plugins')
    const check = health.report().checks.find((c) => c.name === 'plugins')!
    expect(check.status).toBe('degraded')
    const details = (check as unknown as { details: { plugins: Record<string, { state: string; calls: number }> } }).details
    expect(details.plugins['slow-activate']!.state).toBe('failed')
    expect(details.plugins.base).toMatchObject({ state: 'active', calls: 1 })
    await t.stop()
    expect(host.status().every((s) => s.state === 'stopped' || s.state === 'failed')).toBe(true)
  })
})
