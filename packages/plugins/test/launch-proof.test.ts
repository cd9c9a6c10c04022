/**
 * The first sandboxed launch is the isolation probe: it assumes namespaces and `setpriv`, and
 * starting proves them, so no probe process delays the first plugin. (A file of its own: what
 * was probed is kept for the process, and this needs a process that has asked nothing yet.)
 */
import { rm } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { launchIsolation } from '../src/index.js'
import { namespacesHere, pluginFolder, startHost } from './helpers.js'

describe.skipIf(!namespacesHere)('the first launch as the isolation probe', () => {
  it('assumes namespaces before anything was probed, and a plugin that starts proves them', async () => {
    expect(launchIsolation()).toEqual({ isolation: 'namespaces', setpriv: true, assumed: true })
    const dir = await pluginFolder('greeter', 'export const handlers = { hello: () => "hello" }')
    try {
      await using t = await startHost({ dirs: [dir] })
      expect(await t.host.call('greeter', 'hello')).toBe('hello')
      expect(t.spy.of('plugin-loaded').map((e) => [e.id, e.isolation])).toEqual([['greeter', 'namespaces']])
      expect(launchIsolation()).toEqual({ isolation: 'namespaces', setpriv: true, assumed: false })
      expect(t.host.isolation).toBe('namespaces')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
