import { cp, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixtures, startHost, tempDir } from './helpers.js'

const lifecycle = `${fixtures}lifecycle`

describe('the plugin lifecycle', () => {
  it('gives a plugin a host API with only what its level and manifest grant; the rest is absent and refused', async () => {
    await using t = await startHost({ dirs: [lifecycle], trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
    expect(await t.host.call('inspector', 'api')).toEqual({ log: ['error', 'info', 'warn'], state: ['get'], topics: ['publish'] })
    expect(await t.host.call('inspector', 'plugin')).toEqual({ id: 'inspector', version: '1.0.0', level: 'basic', capabilities: ['state:read', 'topics:publish'] })
    await expect(t.host.call('inspector', 'write')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_CALL_FAILED', message: expect.stringContaining('host.state.set is not a function') })
  })

  it('disables a plugin whose activate passes its deadline, with the reason, and keeps the others running', async () => {
    await using t = await startHost({ dirs: [lifecycle], trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
    const slow = t.host.status().find((s) => s.id === 'slow-activate')!
    expect([slow.state, slow.reason]).toEqual(['failed', 'activate failed: plugin "slow-activate" activate ran past its 300 ms deadline; its process was killed'])
    expect(t.spy.of('plugin-failed').map((e) => [e.id, e.phase])).toEqual([['slow-activate', 'activate']])
    expect(await t.host.call('base', 'ok')).toBe('base')
    await expect(t.host.call('slow-activate', 'ok')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_NOT_ACTIVE', message: expect.stringContaining('ran past its 300 ms deadline') })
  })

  it('disables, enables and reloads a plugin at run time; disabling cascades to its dependants', async () => {
    const dir = await tempDir('plinth-plugins-reload-')
    await cp(lifecycle, dir, { recursive: true })
    try {
      await using t = await startHost({ dirs: [dir], trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
      await t.host.disable('base')
      expect(Object.fromEntries(t.host.status().filter((s) => s.id === 'base' || s.id === 'addon').map((s) => [s.id, [s.state, s.reason]]))).toEqual({
        base: ['disabled', 'disabled by an operator'],
        addon: ['disabled', 'its dependency "base" was disabled'],
      })
      await expect(t.host.call('addon', 'ok')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_NOT_ACTIVE' })
      await expect(t.host.enable('addon')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_DEPENDENCY', message: expect.stringContaining('its dependency "base" is disabled') })
      await t.host.enable('base')
      await t.host.enable('addon')
      expect(await t.host.call('addon', 'ok')).toBe('addon')

      await writeFile(join(dir, 'base', 'index.mjs'), 'export const handlers = { ok: () => "base, reloaded" }')
      await writeFile(join(dir, 'base', 'plugin.json'), JSON.stringify({ id: 'base', version: '1.1.0', entry: 'index.mjs', level: 'read-only' }))
      await t.host.reload('base')
      expect(await t.host.call('base', 'ok')).toBe('base, reloaded')
      expect(t.host.status().find((s) => s.id === 'base')!.version).toBe('1.1.0')

      await writeFile(join(dir, 'base', 'plugin.json'), JSON.stringify({ id: 'base', version: '1.1.0', entry: 'index.mjs', level: 'galactic' }))
      await expect(t.host.reload('base')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_MANIFEST', message: expect.stringContaining('level: "galactic" must be one of') })
      expect(t.host.status().find((s) => s.id === 'base')!.state).toBe('failed')
      expect(await t.host.call('inspector', 'plugin')).toMatchObject({ id: 'inspector' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('disables a plugin that keeps crashing after its restart limit', async () => {
    await using t = await startHost({ dirs: [`${fixtures}hostile`], limits: { maxRestarts: 1 } })
    await expect(t.host.call('looper', 'spin')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_TIMEOUT' })
    await t.next('plugin-restarted', 'looper')
    const disabled = t.next('plugin-disabled', 'looper')
    await expect(t.host.call('looper', 'spin')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_TIMEOUT' })
    expect((await disabled).reason).toMatch(/^stopped 2 times within 60000 ms; last: call "spin" ran past its 300 ms deadline/)
    expect(t.host.status().find((s) => s.id === 'looper')).toMatchObject({ state: 'failed', restarts: 1 })
    await t.host.enable('looper')
    expect(await t.host.call('looper', 'ok')).toBe('still here')
  })

  it('runs a trusted system plugin in the host process with the same checked API', async () => {
    await using t = await startHost({ dirs: [lifecycle], trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
    const status = t.host.status().find((s) => s.id === 'trusted-counter')!
    expect([status.state, status.isolation]).toEqual(['active', 'in-process'])
    expect(await t.host.call('trusted-counter', 'pid')).toBe(process.pid)
    await t.host.services.topics.publish('counter.add', 2)
    await t.host.services.topics.publish('counter.add', 3)
    await expect.poll(() => t.host.services.state.get('count')).toBe(5)
    expect(await t.host.call('trusted-counter', 'count')).toBe(5)
  })

  it('serves the routes a plugin registers under /plugins/<id>, and reads files only under its data folder', async () => {
    await using t = await startHost({ dirs: [lifecycle], trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
    const route = t.host.services.routes.find('GET', '/plugins/router/hello')!
    expect(await route.handle({ method: 'GET', path: '/plugins/router/hello', query: { name: 'ada' }, headers: {}, body: null })).toEqual({ hello: 'ada' })
    await expect(t.host.call('router', 'badRoute')).rejects.toMatchObject({ message: expect.stringContaining('route path "/../../admin" must start with') })

    const dataDir = join(t.dataDir, 'router')
    await mkdir(join(dataDir, 'notes'), { recursive: true })
    await writeFile(join(dataDir, 'notes', 'a.txt'), 'note a')
    expect(await t.host.call('router', 'read', 'notes/a.txt')).toBe('note a')
    await expect(t.host.call('router', 'read', '../trusted-counter/x')).rejects.toMatchObject({ message: expect.stringContaining('leads out of the plugin\'s data folder') })
    await expect(t.host.call('router', 'read', '/etc/passwd')).rejects.toMatchObject({ message: expect.stringContaining('must be relative') })
    await t.host.disable('router')
    expect(t.host.services.routes.find('GET', '/plugins/router/hello')).toBeUndefined()
  })

  it('reports each plugin\'s state and metrics: calls, errors, time, messages and memory', async () => {
    await using t = await startHost({ dirs: [lifecycle], trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
    await t.host.call('base', 'ok')
    await t.host.call('base', 'ok')
    await t.host.call('inspector', 'write').catch(() => {})
    const status = Object.fromEntries(t.host.status().map((s) => [s.id, s]))
    expect(status.base).toMatchObject({ state: 'active', calls: 2, errors: 0, refusals: 0, restarts: 0, handlers: ['ok'] })
    expect(status.base!.callTime).toBeGreaterThan(0)
    expect(status.base!.messages).toBeGreaterThanOrEqual(4)
    expect(status.base!.memory).toBeGreaterThan(10 * 2 ** 20)
    expect(status.inspector).toMatchObject({ calls: 1, errors: 1 })
  })
})

describe('calls that cannot be sent', () => {
  it('refuses an input that is not JSON without harming the plugin', async () => {
    await using t = await startHost({ dirs: [lifecycle], trusted: ['trusted-counter'], limits: { activateTimeout: 300 } })
    await expect(t.host.call('base', 'ok', { big: 1n })).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_INVALID_MESSAGE', message: expect.stringContaining('cannot be sent as JSON') })
    expect(await t.host.call('base', 'ok')).toBe('base')
    expect(t.host.status().find((s) => s.id === 'base')!.restarts).toBe(0)
  })
})
