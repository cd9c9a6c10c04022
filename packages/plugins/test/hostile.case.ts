/**
 * The hostile-plugin suite: each plugin under test/fixtures/hostile attacks the host one way,
 * and each attack must be contained with the host still serving afterwards (a neighbouring
 * plugin still answers and an HTTP server in this process still responds). Run once per
 * isolation this machine offers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPlinthError, type PlinthError } from '@plinth/core'
import type { Isolation } from '../src/index.js'
import { fixtures, startHost, startServer, type TestHost } from './helpers.js'

async function rejection(promise: Promise<unknown>): Promise<PlinthError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
    },
    (e: unknown) => e,
  )
  if (!isPlinthError(error)) throw error
  return error
}

export function hostileSuite(isolation: Isolation): void {
  describe(`hostile plugins (${isolation} isolation)`, () => {
    let t: TestHost
    let web: Awaited<ReturnType<typeof startServer>>
    const secret = `s3cret-${Math.random()}`

    beforeAll(async () => {
      process.env.PLINTH_PLUGINS_TEST_SECRET = secret
      web = await startServer()
      t = await startHost({
        dirs: [`${fixtures}hostile`],
        isolation,
        limits: { maxRestarts: 20, heartbeatInterval: 100, heartbeatTimeout: 600, maxMessagesPerSecond: 2_000 },
      })
    })
    afterAll(async () => {
      delete process.env.PLINTH_PLUGINS_TEST_SECRET
      await t?.[Symbol.asyncDispose]()
      await web?.close()
    })

    /** The host is still serving: its HTTP server answers and a neighbouring plugin too. */
    async function stillServing(): Promise<void> {
      expect(await web.served()).toBe('serving')
      expect(await t.host.call('echo', 'echo', { n: 1 })).toEqual({ n: 1 })
    }

    it('starts every plugin in its own sandboxed process, except those whose load or activate throws', () => {
      const states = Object.fromEntries(t.host.status().map((s) => [s.id, s.state]))
      expect(states).toMatchObject({ echo: 'active', looper: 'active', 'throws-on-activate': 'failed', 'throws-on-import': 'failed', 'throws-everywhere': 'active' })
      expect(new Set(t.host.status().filter((s) => s.state === 'active').map((s) => s.isolation))).toEqual(new Set([isolation]))
    })

    it('kills and restarts a plugin whose call loops forever, failing that call with a timeout', async () => {
      const restarted = t.next('plugin-restarted', 'looper')
      const error = await rejection(t.host.call('looper', 'spin'))
      expect(error.code).toBe('PLINTH_ERR_PLUGIN_TIMEOUT')
      expect(error.message).toContain('300 ms deadline')
      await restarted
      expect(await t.host.call('looper', 'ok')).toBe('still here')
      await stillServing()
    })

    it('kills a plugin that blocks its event loop between calls, by its unanswered heartbeat', async () => {
      const crashed = t.next('plugin-crashed', 'looper')
      const restarted = t.next('plugin-restarted', 'looper')
      expect(await t.host.call('looper', 'spinLater')).toBe('spinning soon')
      expect((await crashed).reason).toMatch(/stopped answering/)
      await restarted
      await stillServing()
    })

    it('stops a memory bomb on the heap at the heap cap, and restarts it', async () => {
      const restarted = t.next('plugin-restarted', 'memory-bomb')
      const error = await rejection(t.host.call('memory-bomb', 'heap'))
      expect(error.code).toBe('PLINTH_ERR_PLUGIN_CRASHED')
      await restarted
      expect(await t.host.call('memory-bomb', 'ok')).toBe('still here')
      await stillServing()
    })

    it('stops a memory bomb of buffers outside the heap by its resident memory', async () => {
      const restarted = t.next('plugin-restarted', 'memory-bomb')
      const error = await rejection(t.host.call('memory-bomb', 'buffers'))
      expect(error.code).toBe('PLINTH_ERR_PLUGIN_CRASHED')
      expect(error.message).toMatch(/MiB resident, past its 160 MiB limit/)
      await restarted
      await stillServing()
    })

    it('denies require("fs"), import("node:fs"), writes, child processes, workers and eval; the plugin reads only its own folder', async () => {
      for (const handler of ['requireFs', 'importFs', 'readHostSource', 'write', 'spawn', 'worker']) {
        const error = await rejection(t.host.call('fs-reader', handler))
        expect([handler, error.code, error.details.pluginCode]).toEqual([handler, 'PLINTH_ERR_PLUGIN_CALL_FAILED', 'ERR_ACCESS_DENIED'])
      }
      expect((await rejection(t.host.call('fs-reader', 'evalCode'))).message).toMatch(/Code generation from strings disallowed/)
      expect(await t.host.call('fs-reader', 'readOwnManifest')).toBe('fs-reader')
      await stillServing()
    })

    it('refuses process.exit, reallyExit, abort and kill; a plugin that crashes anyway is restarted', async () => {
      const pid = await t.host.call('exiter', 'ok')
      for (const handler of ['exit', 'reallyExit', 'abort']) {
        expect((await rejection(t.host.call('exiter', handler))).details.pluginCode).toBe('ERR_PLUGIN_SANDBOX')
      }
      expect((await rejection(t.host.call('exiter', 'killHost', process.pid))).details.pluginCode).toBe('ERR_PLUGIN_SANDBOX')
      expect(await t.host.call('exiter', 'ok')).toBe(pid)
      const restarted = t.next('plugin-restarted', 'exiter')
      expect(await t.host.call('exiter', 'crash')).toBe('crashing')
      await restarted
      await stillServing()
    })

    it('gives a plugin an empty environment: none of the host\'s variables or secrets', async () => {
      expect(process.env.PLINTH_PLUGINS_TEST_SECRET).toBe(secret)
      expect(await t.host.call('env-reader', 'env')).toEqual({})
      await stillServing()
    })

    it('fetches from a listed host through the host, and refuses, logs and counts an unlisted one; direct sockets fail', async () => {
      expect(await t.host.call('fetcher', 'listed', { port: web.port })).toMatchObject({ status: 200, body: 'the data' })
      const before = t.host.status().find((s) => s.id === 'fetcher')!.refusals
      const refused = await rejection(t.host.call('fetcher', 'unlisted', { port: web.port }))
      expect(refused.code).toBe('PLINTH_ERR_PLUGIN_CALL_FAILED')
      expect(refused.details.pluginCode).toBe('PLINTH_ERR_PLUGIN_REFUSED')
      expect(refused.message).toContain('host "127.0.0.1:')
      expect(t.host.status().find((s) => s.id === 'fetcher')!.refusals).toBe(before + 1)
      expect(t.spy.of('plugin-refused').some((e) => e.id === 'fetcher' && e.operation === 'http.fetch')).toBe(true)
      for (const handler of ['direct', 'socket', 'httpModule']) {
        const error = await rejection(t.host.call('fetcher', handler, { port: web.port }))
        expect([handler, error.code]).toEqual([handler, 'PLINTH_ERR_PLUGIN_CALL_FAILED'])
      }
      await stillServing()
    })

    it('keeps prototype pollution inside the plugin: the host\'s objects, its state and the results stay clean', async () => {
      const input = { a: 1 }
      const result = (await t.host.call('polluter', 'pollute', input)) as Record<string, unknown>
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
      expect(Object.getPrototypeOf(input)).toBe(Object.prototype)
      expect([result.ok, result.isAdmin, Object.getPrototypeOf(result) === Object.prototype]).toEqual([true, undefined, true])
      const profile = t.host.services.state.get('profile') as Record<string, unknown>
      expect(profile).toEqual({ name: 'mallory' })
      expect([profile.isAdmin, Object.getPrototypeOf(profile) === Object.prototype]).toEqual([undefined, true])
      await stillServing()
    })

    it('refuses forged requests written straight to the pipe, whatever identity they claim', async () => {
      const refused = t.spy.of('plugin-refused').length
      expect(await t.host.call('forger', 'forgeWrite')).toBe('sent')
      await expect.poll(() => t.spy.of('plugin-refused').length).toBe(refused + 2)
      expect(t.spy.of('plugin-refused').slice(-2).map((e) => [e.id, e.operation])).toEqual([['forger', 'state.set'], ['forger', 'process.exit']])
      expect(t.host.services.state.get('owner')).toBeUndefined()
      const restarted = t.next('plugin-restarted', 'forger')
      await t.host.call('forger', 'garbage').catch(() => 'killed mid-call')
      await restarted
      expect(t.spy.of('plugin-crashed').some((e) => e.id === 'forger' && /not JSON/.test(e.reason))).toBe(true)
      await stillServing()
    })

    it('disables a plugin that throws on import or activate with the reason, and contains one that throws everywhere else', async () => {
      const status = Object.fromEntries(t.host.status().map((s) => [s.id, s]))
      expect(status['throws-on-activate']!.reason).toBe('activate failed: plugin "throws-on-activate": activate always throws')
      expect(status['throws-on-import']!.reason).toMatch(/^load failed: .*import always throws/)
      expect((await rejection(t.host.call('throws-on-activate', 'ok'))).code).toBe('PLINTH_ERR_PLUGIN_NOT_ACTIVE')
      expect((await rejection(t.host.call('throws-everywhere', 'fail'))).message).toBe('plugin "throws-everywhere": handler always throws')
      expect((await rejection(t.host.call('throws-everywhere', 'failAsync'))).message).toBe('plugin "throws-everywhere": async handler always throws')
      expect(await t.host.call('throws-everywhere', 'ok')).toBe('still here')
      // Its deactivate throws too: disabling it still unloads it.
      await t.host.disable('throws-everywhere')
      expect(t.spy.of('plugin-failed').some((e) => e.id === 'throws-everywhere' && e.phase === 'deactivate')).toBe(true)
      expect(t.spy.of('plugin-unloaded').some((e) => e.id === 'throws-everywhere')).toBe(true)
      await stillServing()
    })

    it('kills a plugin that floods the host with messages or requests, and one that sends an oversized message', async () => {
      const flooded = t.next('plugin-crashed', 'flooder')
      await t.host.call('flooder', 'flood').catch(() => 'killed mid-call')
      expect((await flooded).reason).toMatch(/flooded the host with more than 2000 unasked messages/)
      await t.next('plugin-restarted', 'flooder')
      // Host requests past the 256 that may be outstanding are refused, and count as a flood too.
      const requests = t.next('plugin-crashed', 'flooder')
      await t.host.call('flooder', 'requests').catch(() => 'killed mid-call')
      expect((await requests).reason).toMatch(/flooded the host with more than 2000 unasked messages/)
      await t.next('plugin-restarted', 'flooder')
      const oversized = t.next('plugin-crashed', 'flooder')
      await t.host.call('flooder', 'oversized').catch(() => 'killed mid-call')
      expect((await oversized).reason).toMatch(/sent a message of more than \d+ bytes \(limit 1048576\)/)
      await t.next('plugin-restarted', 'flooder')
      expect(await t.host.call('flooder', 'ok')).toBe('still here')
      await stillServing()
    })

    it('counts every attack in the plugins\' metrics', () => {
      const status = Object.fromEntries(t.host.status().map((s) => [s.id, s]))
      expect(status.looper!.restarts).toBeGreaterThanOrEqual(2)
      expect(status['memory-bomb']!.restarts).toBeGreaterThanOrEqual(2)
      expect(status.fetcher!.refusals).toBeGreaterThanOrEqual(1)
      expect(status.forger!.refusals).toBeGreaterThanOrEqual(2)
      expect(status['fs-reader']!.errors).toBeGreaterThanOrEqual(7)
      expect(status.echo!.errors).toBe(0)
    })
  })
}
