import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { create } from 'tar'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PluginCatalogue, PluginHost, pluginsCommand, sha256Of } from '../src/index.js'
import { tempDir } from './helpers.js'

let work: string

async function pluginFolder(name: string, version: string, body = `export const handlers = { version: () => '${version}' }`): Promise<string> {
  const folder = join(work, 'src', `${name}-${version}`)
  await mkdir(folder, { recursive: true })
  await writeFile(join(folder, 'plugin.json'), JSON.stringify({ id: name, version, entry: 'index.mjs', description: `${name} ${version}`, level: 'read-only' }))
  await writeFile(join(folder, 'index.mjs'), body)
  return folder
}

/** A tarball as npm pack makes it: everything under package/. */
async function tarball(folder: string, name: string): Promise<{ file: string; sha256: string }> {
  const staging = join(work, 'pack', name)
  await mkdir(staging, { recursive: true })
  await rm(join(staging, 'package'), { recursive: true, force: true })
  const { cp } = await import('node:fs/promises')
  await cp(folder, join(staging, 'package'), { recursive: true })
  const file = join(work, `${name}.tgz`)
  await create({ gzip: true, file, cwd: staging }, ['package'])
  return { file, sha256: await sha256Of(file) }
}

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await pluginsCommand({ args: [...args, '--catalogue', join(work, 'catalogue')], out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) })
  return { code, out, err }
}

describe('the plugin catalogue', () => {
  beforeEach(async () => {
    work = await tempDir('plinth-plugins-catalogue-')
  })
  afterEach(async () => {
    await rm(work, { recursive: true, force: true })
  })

  it('installs from a folder and from a tarball with its sha256, upgrades, and rolls back', async () => {
    const catalogue = new PluginCatalogue(join(work, 'catalogue'))
    expect(await catalogue.install(await pluginFolder('units', '1.0.0'))).toEqual({ id: 'units', version: '1.0.0', action: 'installed' })
    const packed = await tarball(await pluginFolder('units', '1.1.0'), 'units-1.1.0')
    expect(await catalogue.install(packed.file, { sha256: packed.sha256 })).toEqual({ id: 'units', version: '1.1.0', action: 'upgraded', previous: '1.0.0' })
    expect(await catalogue.list()).toMatchObject([{ id: 'units', version: '1.1.0', versions: ['1.0.0', '1.1.0'], previous: '1.0.0', enabled: true, level: 'read-only' }])
    const index = JSON.parse(await readFile(join(work, 'catalogue', 'index.json'), 'utf8'))
    expect(index.plugins.units.versions['1.1.0'].sha256).toBe(packed.sha256)

    expect(await catalogue.rollback('units')).toEqual({ id: 'units', version: '1.0.0', from: '1.1.0' })
    await expect(catalogue.rollback('units')).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_VERSION', message: expect.stringContaining('no previous version') })

    // The host loads the catalogue's current version.
    const host = new PluginHost({ folders: await catalogue.folders(), dataDir: join(work, 'data') })
    await host.start()
    expect(await host.call('units', 'version')).toBe('1.0.0')
    await host.stop()
  })

  it('refuses a tarball whose sha256 does not match, or without one, installing nothing', async () => {
    const catalogue = new PluginCatalogue(join(work, 'catalogue'))
    const packed = await tarball(await pluginFolder('units', '1.0.0'), 'units')
    await expect(catalogue.install(packed.file, { sha256: 'a'.repeat(64) })).rejects.toMatchObject({
      code: 'PLINTH_ERR_PLUGIN_CHECKSUM',
      message: `${packed.file} has sha256 ${packed.sha256}, not the expected ${'a'.repeat(64)}`,
    })
    await expect(catalogue.install(packed.file)).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_INSTALL', message: expect.stringContaining('needs its sha256') })
    expect(await catalogue.list()).toEqual([])
  })

  it('refuses an archive holding links or paths out of it, a folder with an invalid manifest, and a downgrade without force', async () => {
    const catalogue = new PluginCatalogue(join(work, 'catalogue'))
    const linked = await pluginFolder('linked', '1.0.0')
    await symlink('/etc/passwd', join(linked, 'passwd'))
    const packed = await tarball(linked, 'linked')
    await expect(catalogue.install(packed.file, { sha256: packed.sha256 })).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_INSTALL', message: expect.stringContaining('package/passwd is a SymbolicLink') })
    await expect(catalogue.install(linked)).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_INSTALL', message: expect.stringContaining('passwd (symbolic link)') })

    const invalid = await pluginFolder('invalid', '1.0.0')
    await writeFile(join(invalid, 'plugin.json'), JSON.stringify({ id: 'invalid', version: 'x', entry: 'index.mjs' }))
    await expect(catalogue.install(invalid)).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_INSTALL', message: expect.stringContaining('version: "x" is not a semver version') })

    await catalogue.install(await pluginFolder('units', '2.0.0'))
    await expect(catalogue.install(await pluginFolder('units', '1.0.0'))).rejects.toMatchObject({ code: 'PLINTH_ERR_PLUGIN_VERSION', message: 'plugin "units" 1.0.0 is older than the current 2.0.0; pass --force to downgrade, or use rollback' })
    expect(await catalogue.install(await pluginFolder('units', '1.0.0'), { force: true })).toMatchObject({ action: 'downgraded' })
  })

  it('runs as `plinth plugins list|install|upgrade|enable|disable|rollback|remove`', async () => {
    const v1 = await pluginFolder('word-filter', '1.0.0')
    const packed = await tarball(await pluginFolder('word-filter', '1.2.0'), 'wf')
    expect(await run('list')).toMatchObject({ code: 0, out: `no plugins in ${join(work, 'catalogue')}\n` })
    expect(await run('install', v1)).toMatchObject({ code: 0, out: 'installed word-filter 1.0.0\n' })
    expect(await run('upgrade', packed.file, '--sha256', packed.sha256)).toMatchObject({ code: 0, out: 'upgraded word-filter 1.2.0 (was 1.0.0; plinth plugins rollback word-filter returns to it)\n' })
    expect(await run('disable', 'word-filter')).toMatchObject({ code: 0, out: 'disabled word-filter; it takes effect at the next start or reload\n' })
    expect((await run('list')).out).toBe('word-filter              1.2.0      disabled  read-only  versions 1.0.0, 1.2.0 (rollback to 1.0.0)\n')
    expect(await run('enable', 'word-filter')).toMatchObject({ code: 0 })
    expect(await run('rollback', 'word-filter')).toMatchObject({ code: 0, out: 'rolled back word-filter from 1.2.0 to 1.0.0\n' })
    expect(await run('remove', 'word-filter')).toMatchObject({ code: 0, out: 'removed word-filter; it takes effect at the next start or reload\n' })
    const missing = await run('enable', 'word-filter')
    expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/^PLINTH_ERR_PLUGIN_NOT_FOUND: no plugin "word-filter" in the catalogue/)])
    expect(await run('fly')).toMatchObject({ code: 2, err: expect.stringContaining('plinth plugins needs one of list, install') })
    expect(await run('install')).toMatchObject({ code: 2, err: expect.stringContaining('needs a folder or an archive') })
  })
})
