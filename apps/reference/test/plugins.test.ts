/**
 * The plugins module end to end: the two sample plugins discovered from the plugins folder, the
 * trusted unit converter in process, the untrusted word filter sandboxed and working within its
 * grants, and stopped (then disabled) when it misbehaves, while the service keeps serving.
 */
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Health } from '@plinth/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { plugins } from '../src/modules/plugins/components.js'
import { startService, unique, type Service } from './service.js'

const bundled = new URL('../plugins/', import.meta.url).pathname

// The word filter, rebuilt to misbehave: it forges a state write it was never granted, then spins.
const misbehaving = `
import fs from 'node:fs'
export const handlers = {
  filter: () => {
    fs.writeSync(3, JSON.stringify({ t: 'host', id: 1e6, op: 'state.set', args: ['conversation.safety', 'off'] }) + '\\n')
    for (;;) {}
  },
}
`

describe('plugins in the reference service', () => {
  let service: Service
  let pluginsDir: string
  const plugin = async (id: string) => ((await service.rest('GET', '/api/v1/plugins')).body.plugins as Array<Record<string, any>>).find((p) => p.id === id)!
  const call = (id: string, handler: string, input: unknown) => service.rest('POST', `/api/v1/plugins/${id}/calls/${handler}`, { input })

  beforeAll(async () => {
    // A copy of the sample plugins, so that the test can make the word filter misbehave; readable
    // by the user plugin processes run as.
    pluginsDir = await mkdtemp(join(tmpdir(), 'plinth-reference-plugins-'))
    await cp(bundled, pluginsDir, { recursive: true })
    await chmod(pluginsDir, 0o755)
    service = await startService(
      { PLUGINS_DIR: pluginsDir },
      {
        beforeStart: async (dataDir) => {
          await mkdir(join(dataDir, 'plugins', 'word-filter'), { recursive: true })
          await writeFile(join(dataDir, 'plugins', 'word-filter', 'words.txt'), 'broccoli\n')
        },
      },
    )
  })
  afterAll(async () => {
    await service?.stop()
    await rm(pluginsDir, { recursive: true, force: true })
  })

  it('discovers both sample plugins: the trusted converter in process, the word filter sandboxed', async () => {
    expect(await plugin('unit-converter')).toMatchObject({ state: 'active', level: 'system', isolation: 'in-process' })
    const filter = await plugin('word-filter')
    expect(filter).toMatchObject({ state: 'active', level: 'basic', handlers: ['filter', 'reload'] })
    expect(['namespaces', 'process']).toContain(filter.isolation)
  })

  it('converts a telemetry reading with the trusted plugin, and says what is wrong with a bad unit', async () => {
    expect((await call('unit-converter', 'convert', { value: 64.5, from: 'F', to: 'C' })).body).toEqual({ result: { value: 18.0556, unit: 'c' } })
    const bad = await call('unit-converter', 'convert', { value: 1, from: 'f', to: 'psi' })
    expect(bad.status).toBe(502)
    // The route it registered at activation, served through the host.
    expect((await service.rest('GET', '/api/v1/plugins/unit-converter/routes/convert?value=100&from=c&to=f')).body).toEqual({ value: 212, unit: 'f' })
    expect((await service.rest('GET', '/api/v1/plugins/unit-converter/routes/nowhere')).body).toMatchObject({ status: 404, detail: 'plugin "unit-converter" has no GET route /nowhere' })
  })

  it('filters words with the sandboxed plugin, within its grants: its data folder, app state and a topic', async () => {
    const host = service.t.get(plugins)
    const filtered: unknown[] = []
    const off = host.services.topics.subscribe('conversation.filtered', (data) => filtered.push(data))
    await host.services.state.set('word-filter.extra', ['spinach'])
    expect((await call('word-filter', 'reload', {})).body).toEqual({ result: { words: 5 } })
    const { body } = await call('word-filter', 'filter', { text: 'No stupid broccoli or Spinach, heck!' })
    expect(body).toEqual({ result: { text: 'No ****** ******** or *******, ****!', masked: ['stupid', 'broccoli', 'spinach', 'heck'] } })
    expect(filtered).toEqual([{ masked: ['stupid', 'broccoli', 'spinach', 'heck'] }])
    off()
    expect(await plugin('word-filter')).toMatchObject({ refusals: 0, errors: 0 })
  })

  it('stops the word filter when it misbehaves, refuses what it was not granted, and disables it after its restarts', async () => {
    await writeFile(join(pluginsDir, 'word-filter', 'index.mjs'), misbehaving)
    expect((await service.rest('POST', '/api/v1/plugins/word-filter/reload')).status).toBe(200)
    const host = service.t.get(plugins)
    for (let attempt = 1; attempt <= 4; attempt++) {
      // Restarted after each of the first three; disabled after the fourth (3 restarts a minute at most).
      const outcome = attempt < 4 ? 'plugin-restarted' : 'plugin-disabled'
      const settled = new Promise<void>((resolve) => host.events.subscribe((e) => e.type === outcome && e.id === 'word-filter' && resolve()))
      expect((await call('word-filter', 'filter', { text: 'hello' })).status).toBe(504)
      await settled
    }
    const status = await plugin('word-filter')
    expect(status).toMatchObject({ state: 'failed', restarts: 3 })
    expect(status.reason).toMatch(/^stopped 4 times within 60000 ms; last: call "filter" ran past its 500 ms deadline/)
    expect(status.refusals).toBeGreaterThanOrEqual(1)
    expect(host.services.state.get('conversation.safety')).toBeUndefined()
    expect((await call('word-filter', 'filter', { text: 'hello' })).status).toBe(503)

    // The service still serves, and /health says why plugins are degraded.
    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id: unique('thermo'), kind: 'thermometer' })).status).toBe(201)
    expect((await call('unit-converter', 'convert', { value: 0, from: 'c', to: 'k' })).body).toEqual({ result: { value: 273.15, unit: 'k' } })
    await (await service.t.resolve(Health)).checkNow('plugins')
    const check = ((await service.rest('GET', '/health')).body.checks as Array<{ name: string; status: string; details?: any }>).find((c) => c.name === 'plugins')!
    expect(check.status).toBe('degraded')
    expect(check.details.plugins['word-filter'].state).toBe('failed')
    expect((await service.rest('GET', '/health/ready')).status).toBe(200)
  })
})
