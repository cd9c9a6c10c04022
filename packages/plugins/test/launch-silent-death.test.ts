/**
 * A sandboxed launch under the assumed isolation that dies without a word is probed after the
 * fact: where the machine allows what was assumed, the plugin itself failed, and it is reported
 * once (a relaunch on the same assumption would loop). A file of its own: what was probed is kept
 * for the process.
 */
import { rm } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { launchIsolation } from '../src/index.js'
import { namespacesHere, pluginFolder, startHost } from './helpers.js'

describe.skipIf(!namespacesHere)('a launch that dies without a word', () => {
  it('is probed, and with the assumed isolation confirmed the plugin is reported failed once, with no launch loop', async () => {
    // Fills its heap while it is imported, so the process dies before the runtime says anything.
    const dir = await pluginFolder('heap-eater', 'const kept = []\nfor (;;) kept.push(new Array(1e6).fill(1))\nexport const handlers = {}')
    try {
      expect(launchIsolation().assumed).toBe(true)
      await using t = await startHost({ dirs: [dir], limits: { memoryMb: 32 } })
      const status = t.host.status().find((s) => s.id === 'heap-eater')!
      expect(status.state).toBe('failed')
      expect(status.reason).toMatch(/^load failed: plugin "heap-eater" failed to load: /)
      expect(t.spy.of('plugin-failed').map((e) => [e.id, e.phase])).toEqual([['heap-eater', 'load']])
      expect(t.spy.of('plugin-loaded')).toEqual([])
      expect(launchIsolation()).toEqual({ isolation: 'namespaces', setpriv: true, assumed: false })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
