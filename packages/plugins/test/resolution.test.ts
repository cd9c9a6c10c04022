import { link, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { discoverPlugins, resolvePlugins } from '../src/index.js'
import { fixtures, startHost, tempDir } from './helpers.js'

const graph = `${fixtures}graph`

describe('discovery and dependency resolution', () => {
  it('orders plugins by their dependencies and excludes every problem at once, each with its reason', async () => {
    const candidates = await discoverPlugins({ dirs: [graph] })
    const { ordered, excluded } = resolvePlugins(candidates, { plinthVersion: '0.1.0' })
    expect(ordered.map((p) => p.manifest.id)).toEqual(['units', 'charts', 'dashboard'])
    const reasons = Object.fromEntries(excluded.map((x) => [x.id, x.reason]))
    expect(reasons).toEqual({
      twin: `two plugins declare the id "twin": ${graph}/twin-a/plugin.json and ${graph}/twin-b/plugin.json`,
      broken: '1 problem: entry: "missing.mjs" does not exist in ' + `${graph}/broken`,
      'not-json': expect.stringMatching(/^is not valid JSON/),
      future: 'supports Plinth ^9.0.0, and this is Plinth 0.1.0',
      'self-declared-system': 'level "system" runs in the host process, and the host does not list "self-declared-system" as trusted',
      'old-client': `plugin "old-client" needs "units" ^2.0.0, but "units" is 1.4.0 (${graph}/units/plugin.json)`,
      'needs-ghost': 'plugin "needs-ghost" needs "ghost" ^1.0.0, which is not installed',
      'needs-needs-ghost': 'plugin "needs-needs-ghost" needs "needs-ghost" *, which was excluded: plugin "needs-ghost" needs "ghost" ^1.0.0, which is not installed',
      chicken: 'plugin "chicken" is on a dependency cycle: chicken -> egg -> chicken',
      egg: 'plugin "egg" is on a dependency cycle: chicken -> egg -> chicken',
    })
    expect(excluded.find((x) => x.id === 'old-client')!.error.code).toBe('PLINTH_ERR_PLUGIN_DEPENDENCY')
    expect(excluded.find((x) => x.id === 'twin')!.error.code).toBe('PLINTH_ERR_PLUGIN_DUPLICATE')
  })

  it('lets a trusted id run at the system level', async () => {
    const { ordered } = resolvePlugins(await discoverPlugins({ dirs: [graph] }), { plinthVersion: '0.1.0', trusted: ['self-declared-system'] })
    expect(ordered.map((p) => p.manifest.id)).toContain('self-declared-system')
  })

  it('starts the host with the plugins that resolve and reports the others, without failing', async () => {
    await using t = await startHost({ dirs: [graph] })
    const states = Object.fromEntries(t.host.status().map((s) => [s.id, s.state]))
    expect(states).toMatchObject({ units: 'active', charts: 'active', dashboard: 'active', chicken: 'excluded', 'old-client': 'excluded', twin: 'excluded' })
    expect(await t.host.call('dashboard', 'ping')).toBe('pong')
    expect(t.spy.of('plugin-excluded').map((e) => e.id).sort()).toEqual(['broken', 'chicken', 'egg', 'future', 'needs-ghost', 'needs-needs-ghost', 'not-json', 'old-client', 'self-declared-system', 'twin'])
  })

  it('refuses a plugin folder holding a symbolic or hard link, which the permission model would follow out of it', async () => {
    const dir = await tempDir('plinth-plugins-links-')
    try {
      for (const name of ['sym', 'hard']) {
        await mkdir(join(dir, name, 'lib'), { recursive: true })
        await writeFile(join(dir, name, 'plugin.json'), JSON.stringify({ id: name, version: '1.0.0', entry: 'index.mjs' }))
        await writeFile(join(dir, name, 'index.mjs'), 'export const handlers = {}')
      }
      await symlink('/etc/passwd', join(dir, 'sym', 'lib', 'passwd'))
      await writeFile(join(dir, 'secret.txt'), 'secret')
      await link(join(dir, 'secret.txt'), join(dir, 'hard', 'secret.txt'))
      const candidates = await discoverPlugins({ dirs: [dir] })
      expect(candidates.map((c) => [c.id, c.error?.code, c.error?.details.links])).toEqual([
        ['hard', 'PLINTH_ERR_PLUGIN_UNSAFE_FILES', ['secret.txt (hard link)']],
        ['sym', 'PLINTH_ERR_PLUGIN_UNSAFE_FILES', ['lib/passwd (symbolic link)']],
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('finds installed packages with the plinth-plugin keyword, and ignores other packages', async () => {
    const dir = await tempDir('plinth-plugins-packages-')
    try {
      const pkg = join(dir, 'node_modules', '@acme', 'plinth-hello')
      await mkdir(pkg, { recursive: true })
      await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: '@acme/plinth-hello', keywords: ['plinth-plugin'] }))
      await writeFile(join(pkg, 'plugin.json'), JSON.stringify({ id: 'hello', version: '1.0.0', entry: 'index.mjs' }))
      await writeFile(join(pkg, 'index.mjs'), 'export const handlers = {}')
      await mkdir(join(dir, 'node_modules', 'left-pad'), { recursive: true })
      await writeFile(join(dir, 'node_modules', 'left-pad', 'package.json'), JSON.stringify({ name: 'left-pad' }))
      const candidates = await discoverPlugins({ packagesFrom: dir })
      expect(candidates.map((c) => [c.id, c.origin, c.manifest?.version])).toEqual([['hello', 'package', '1.0.0']])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('says which plugins folder it could not read', async () => {
    await expect(discoverPlugins({ dirs: ['/nonexistent/plugins'] })).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_DISCOVERY', message: expect.stringContaining('/nonexistent/plugins') })
  })
})
