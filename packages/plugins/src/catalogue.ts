/**
 * The local catalogue ("marketplace"): installed plugins with every version kept, one current
 * per plugin, enabled or disabled. Installs come from a folder or a tarball whose sha256 must
 * match; upgrading keeps the previous version so that it can be rolled back to. The host loads
 * the current version of each enabled plugin (`catalogue.folders()`).
 *
 * Layout: `<dir>/index.json`, and each version's files in `<dir>/store/<id>/<version>/`.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import semver from 'semver'
import { readCandidate } from './discovery.js'
import { pluginErrors } from './errors.js'
import type { PluginManifest } from './manifest.js'

interface IndexEntry {
  current: string
  /** Versions that were current before, most recent last: rollback pops one. */
  history: string[]
  enabled: boolean
  versions: Record<string, { source: string; sha256?: string; installedAt: string }>
}
interface CatalogueIndex {
  plugins: Record<string, IndexEntry>
}

/** A plugin as `plinth plugins list` shows it. */
export interface CatalogueListing {
  readonly id: string
  readonly version: string
  readonly versions: readonly string[]
  /** The version `rollback` would return to. */
  readonly previous?: string
  readonly enabled: boolean
  readonly folder: string
  readonly level: string
  readonly description: string
}

export interface InstallOptions {
  /** Required for tarballs: the archive's sha256, in hex. */
  readonly sha256?: string
  /** Install a version older than the current one (a downgrade) or over the same version. */
  readonly force?: boolean
}

export interface InstallResult {
  readonly id: string
  readonly version: string
  readonly action: 'installed' | 'upgraded' | 'downgraded' | 'reinstalled'
  readonly previous?: string
}

// A plugin is code and a little data; an archive past this is refused before anything is written.
const maxArchiveBytes = 64 * 2 ** 20

/**
 * A plugin catalogue in a folder.
 *
 * @example
 * const catalogue = new PluginCatalogue('./data/plugins')
 * await catalogue.install('./word-filter-1.2.0.tgz', { sha256: '9f86d0...' })
 * const host = new PluginHost({ folders: await catalogue.folders(), dataDir: './data/plugin-data' })
 */
export class PluginCatalogue {
  readonly dir: string

  constructor(dir: string) {
    this.dir = dir
  }

  /** Every installed plugin, by id. */
  async list(): Promise<CatalogueListing[]> {
    const index = await this.#read()
    const listings: CatalogueListing[] = []
    for (const [id, entry] of Object.entries(index.plugins).sort(([a], [b]) => a.localeCompare(b))) {
      const folder = this.#folder(id, entry.current)
      const manifest: Partial<PluginManifest> = await readFile(join(folder, 'plugin.json'), 'utf8').then((t) => JSON.parse(t) as Partial<PluginManifest>, () => ({}))
      listings.push({
        id,
        version: entry.current,
        versions: Object.keys(entry.versions).sort(semver.compare),
        ...(entry.history.length > 0 ? { previous: entry.history.at(-1)! } : {}),
        enabled: entry.enabled,
        folder,
        level: manifest.level ?? 'read-only',
        description: manifest.description ?? '',
      })
    }
    return listings
  }

  /** The folders of the current version of every enabled plugin, for the host to load. */
  async folders(): Promise<string[]> {
    return (await this.list()).filter((p) => p.enabled).map((p) => p.folder)
  }

  /**
   * Installs a plugin from a folder or a tarball (.tgz, .tar.gz, .tar; npm pack's `package/`
   * prefix is removed). A newer version than the current one is an upgrade; an older one needs
   * `force`. Nothing is changed when anything is wrong.
   */
  async install(source: string, options: InstallOptions = {}): Promise<InstallResult> {
    const info = await stat(source).catch(() => undefined)
    if (!info) throw pluginErrors.create('PLINTH_ERR_PLUGIN_INSTALL', `nothing to install at ${source}`)
    await mkdir(this.dir, { recursive: true })
    const staging = await mkdtemp(join(this.dir, '.staging-'))
    try {
      let sha256: string | undefined
      if (info.isDirectory()) {
        await cp(source, staging, { recursive: true, verbatimSymlinks: true })
      } else {
        sha256 = await this.#unpack(source, staging, options.sha256)
      }
      const candidate = await readCandidate(staging, 'folder')
      if (!candidate.error) await makeReadable(staging)
      if (candidate.error || !candidate.manifest) {
        throw pluginErrors.create('PLINTH_ERR_PLUGIN_INSTALL', `${source} is not a valid plugin: ${candidate.error?.message ?? 'no plugin.json'}`, { cause: candidate.error })
      }
      const { id, version } = candidate.manifest
      const index = await this.#read()
      const existing = index.plugins[id]
      let action: InstallResult['action'] = 'installed'
      if (existing) {
        const order = semver.compare(version, existing.current)
        if (order <= 0 && !options.force) {
          throw pluginErrors.create(
            'PLINTH_ERR_PLUGIN_VERSION',
            order === 0 ? `plugin "${id}" ${version} is already the current version; pass --force to install it again` : `plugin "${id}" ${version} is older than the current ${existing.current}; pass --force to downgrade, or use rollback`,
            { details: { id, version, current: existing.current } },
          )
        }
        action = order > 0 ? 'upgraded' : order < 0 ? 'downgraded' : 'reinstalled'
      }
      const target = this.#folder(id, version)
      await rm(target, { recursive: true, force: true })
      await mkdir(join(this.dir, 'store', id), { recursive: true })
      await rename(staging, target)
      const previous = existing && existing.current !== version ? existing.current : undefined
      const entry: IndexEntry = existing ?? { current: version, history: [], enabled: true, versions: {} }
      if (previous !== undefined) entry.history.push(previous)
      entry.current = version
      entry.versions[version] = { source: basename(source), ...(sha256 ? { sha256 } : {}), installedAt: new Date().toISOString() }
      index.plugins[id] = entry
      await this.#write(index)
      return { id, version, action, ...(previous !== undefined ? { previous } : {}) }
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  }

  /** Makes the version before the current one current again (the newer one stays installed). */
  async rollback(id: string): Promise<{ id: string; version: string; from: string }> {
    const index = await this.#read()
    const entry = this.#entry(index, id)
    const previous = entry.history.pop()
    if (previous === undefined) throw pluginErrors.create('PLINTH_ERR_PLUGIN_VERSION', `plugin "${id}" has no previous version to roll back to (installed: ${Object.keys(entry.versions).join(', ')})`)
    const from = entry.current
    entry.current = previous
    await this.#write(index)
    return { id, version: previous, from }
  }

  async enable(id: string): Promise<void> {
    await this.#update(id, (entry) => void (entry.enabled = true))
  }

  async disable(id: string): Promise<void> {
    await this.#update(id, (entry) => void (entry.enabled = false))
  }

  /** Removes a plugin and every version of it. */
  async remove(id: string): Promise<void> {
    const index = await this.#read()
    this.#entry(index, id)
    delete index.plugins[id]
    await this.#write(index)
    await rm(join(this.dir, 'store', id), { recursive: true, force: true })
  }

  async #unpack(file: string, staging: string, expected: string | undefined): Promise<string> {
    if (expected === undefined) throw pluginErrors.create('PLINTH_ERR_PLUGIN_INSTALL', `installing the archive ${file} needs its sha256 (--sha256 HEX), so that what is installed is what was published`)
    if (!/^[0-9a-f]{64}$/i.test(expected)) throw pluginErrors.create('PLINTH_ERR_PLUGIN_INSTALL', `"${expected}" is not a sha256: 64 hexadecimal characters`)
    const size = (await stat(file)).size
    if (size > maxArchiveBytes) throw pluginErrors.create('PLINTH_ERR_PLUGIN_INSTALL', `${file} is ${size} bytes, past the ${maxArchiveBytes}-byte limit for a plugin archive`)
    const actual = await sha256Of(file)
    if (actual !== expected.toLowerCase()) {
      throw pluginErrors.create('PLINTH_ERR_PLUGIN_CHECKSUM', `${file} has sha256 ${actual}, not the expected ${expected.toLowerCase()}`, { details: { file, expected, actual } })
    }
    // tar is loaded here, by the one command that unpacks archives, not by every app at start.
    const { extract, list } = await import('tar')
    // Every entry is checked before anything is written: only files and folders, inside the archive, within the size limit.
    const problems: string[] = []
    const paths: string[] = []
    let total = 0
    await list({
      file,
      onReadEntry: (entry) => {
        paths.push(entry.path)
        total += entry.size ?? 0
        if (entry.type !== 'File' && entry.type !== 'Directory' && entry.type !== 'OldFile') problems.push(`${entry.path} is a ${entry.type}`)
        if (entry.path.startsWith('/') || entry.path.split('/').includes('..')) problems.push(`${entry.path} leads out of the archive`)
      },
    })
    if (total > maxArchiveBytes) problems.push(`it unpacks to ${total} bytes, past ${maxArchiveBytes}`)
    if (problems.length > 0) throw pluginErrors.create('PLINTH_ERR_PLUGIN_INSTALL', `${file} cannot be installed: ${problems.join('; ')}`, { details: { problems } })
    const strip = paths.includes('plugin.json') || paths.includes('./plugin.json') ? 0 : paths.some((p) => /^[^/]+\/plugin\.json$/.test(p)) ? 1 : 0
    await extract({ file, cwd: staging, strip, strict: true })
    return actual
  }

  async #update(id: string, change: (entry: IndexEntry) => void): Promise<void> {
    const index = await this.#read()
    change(this.#entry(index, id))
    await this.#write(index)
  }

  #entry(index: CatalogueIndex, id: string): IndexEntry {
    const entry = index.plugins[id]
    if (!entry) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `no plugin "${id}" in the catalogue at ${this.dir}; installed: ${Object.keys(index.plugins).join(', ') || 'none'}`)
    return entry
  }

  #folder(id: string, version: string): string {
    return join(this.dir, 'store', id, version)
  }

  async #read(): Promise<CatalogueIndex> {
    const text = await readFile(join(this.dir, 'index.json'), 'utf8').catch(() => undefined)
    if (text === undefined) return { plugins: {} }
    return JSON.parse(text) as CatalogueIndex
  }

  async #write(index: CatalogueIndex): Promise<void> {
    // Written aside and renamed: a crash leaves the old index or the new one, never half of one.
    const temp = join(this.dir, `.index-${process.pid}.json`)
    await writeFile(temp, `${JSON.stringify(index, null, 2)}\n`)
    await rename(temp, join(this.dir, 'index.json'))
  }
}

/**
 * The sha256 of a file, in hex.
 *
 * @example
 * await sha256Of('word-filter-1.2.0.tgz') // '9f86d081884c7d65...'
 */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Folders 0755 and files 0644: plugin processes may run as another user (nobody), and need to read them. */
async function makeReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await makeReadable(path)
    else if (entry.isFile()) await chmod(path, 0o644)
  }
}
