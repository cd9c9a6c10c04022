/**
 * Finding plugins: every sub-folder of the plugins folders that holds a plugin.json, and every
 * installed package that says it is a Plinth plugin (keyword `plinth-plugin` and a plugin.json).
 * A folder that cannot be used is still returned, with its error, so it is reported and
 * excluded instead of silently missing.
 *
 * The file system is read with synchronous calls: discovery reads a few small files per plugin,
 * which takes well under a millisecond, and it runs while the app starts, when the event loop is
 * busy with other components. With a promise per file, each read waited its turn behind that
 * work, and discovery (so the plugin processes, the last thing a start waits on) took hundreds
 * of milliseconds instead.
 */
import { lstatSync, readFileSync, readdirSync, realpathSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { PlinthError } from '@plinth/core'
import { pluginErrors } from './errors.js'
import { validateManifest, type PluginManifest } from './manifest.js'

/** A plugin found on disk: its manifest when valid, otherwise the error that excludes it. */
export interface PluginCandidate {
  /** The manifest's id, or the folder name when the manifest could not be read. */
  readonly id: string
  /** The plugin's folder (real path, absolute). */
  readonly folder: string
  /** The manifest file, for messages. */
  readonly file: string
  readonly origin: 'folder' | 'package'
  readonly manifest?: PluginManifest
  readonly error?: PlinthError
}

export interface PluginDiscoveryOptions {
  /** Folders whose sub-folders are plugins (each with a plugin.json). */
  readonly dirs?: readonly (string | URL)[]
  /** Plugin folders named one by one (a catalogue's current versions). */
  readonly folders?: readonly string[]
  /** Also load installed packages with the keyword `plinth-plugin` from this folder's node_modules. */
  readonly packagesFrom?: string | URL
}

const manifestName = 'plugin.json'
// A plugin folder is read file by file for links; past this many entries it is refused as a sign of a mistake.
const maxEntries = 10_000

/**
 * Finds the plugins in the given folders and installed packages, sorted by id.
 *
 * @example
 * const candidates = await discoverPlugins({ dirs: ['./plugins'], packagesFrom: process.cwd() })
 * for (const c of candidates) if (c.error) console.warn(c.error.message)
 */
export function discoverPlugins(options: PluginDiscoveryOptions): Promise<PluginCandidate[]> {
  return settled(() => discover(options))
}

function discover(options: PluginDiscoveryOptions): PluginCandidate[] {
  const found: PluginCandidate[] = []
  for (const dir of options.dirs ?? []) {
    const path = dir instanceof URL ? dir.pathname : dir
    let names: string[]
    try {
      names = readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name)
    } catch (cause) {
      throw pluginErrors.create('PLINTH_ERR_PLUGIN_DISCOVERY', `cannot read the plugins folder ${path}: ${(cause as Error).message}`, { cause, details: { dir: path } })
    }
    for (const name of names.sort()) {
      const folder = join(path, name)
      if (exists(join(folder, manifestName))) found.push(candidateOf(folder, 'folder'))
    }
  }
  for (const folder of options.folders ?? []) found.push(candidateOf(folder, 'folder'))
  if (options.packagesFrom !== undefined) found.push(...installedPlugins(options.packagesFrom instanceof URL ? options.packagesFrom.pathname : options.packagesFrom))
  // Code-point order (ids are ASCII): the first localeCompare of a process costs ICU's collator (~10 ms of a start).
  return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/**
 * Reads and validates one plugin folder: its plugin.json, that its entry exists, and that it
 * holds no links. Never throws: a problem becomes the candidate's error.
 *
 * @example
 * const candidate = await readCandidate('./plugins/word-filter')
 * if (candidate.manifest) console.log(candidate.manifest.level)
 */
export function readCandidate(folderPath: string, origin: PluginCandidate['origin'] = 'folder'): Promise<PluginCandidate> {
  return settled(() => candidateOf(folderPath, origin))
}

function candidateOf(folderPath: string, origin: PluginCandidate['origin']): PluginCandidate {
  let folder = folderPath
  const file = join(folderPath, manifestName)
  const fallbackId = folderPath.split(/[\\/]/).filter(Boolean).pop() ?? folderPath
  try {
    folder = realpathSync(folderPath)
    const text = readFileSync(join(folder, manifestName), 'utf8')
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (cause) {
      throw pluginErrors.create('PLINTH_ERR_PLUGIN_MANIFEST', `${file}: is not valid JSON (${(cause as Error).message})`, { cause, details: { file } })
    }
    const manifest = validateManifest(json, file, folder)
    if (!exists(join(folder, manifest.entry))) {
      throw pluginErrors.create('PLINTH_ERR_PLUGIN_MANIFEST', `${file}: 1 problem:\n  - entry: "${manifest.entry}" does not exist in ${folder}`, { details: { file, problems: [`entry: "${manifest.entry}" does not exist`] } })
    }
    linksRefused(folder, file)
    return { id: manifest.id, folder, file, origin, manifest }
  } catch (error) {
    const plinthError = pluginErrors.is(error) ? error : pluginErrors.create('PLINTH_ERR_PLUGIN_MANIFEST', `${file}: cannot be read: ${(error as Error).message}`, { cause: error, details: { file } })
    const id = typeof (plinthError.details as { id?: unknown }).id === 'string' ? String(plinthError.details.id) : fallbackId
    return { id, folder, file, origin, error: plinthError }
  }
}

/**
 * Throws PLINTH_ERR_PLUGIN_UNSAFE_FILES when the folder holds a symbolic link or a file with
 * several hard links: Node's permission model reads through both, out of the folder it grants.
 *
 * @example
 * await refuseLinks('/srv/plugins/word-filter', 'word-filter/plugin.json')
 */
export function refuseLinks(folder: string, file: string): Promise<void> {
  return settled(() => linksRefused(folder, file))
}

function linksRefused(folder: string, file: string): void {
  const links: string[] = []
  let seen = 0
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (++seen > maxEntries) throw pluginErrors.create('PLINTH_ERR_PLUGIN_UNSAFE_FILES', `${folder} holds more than ${maxEntries} entries; a plugin folder is not a place for that many files`)
      const path = join(dir, entry.name)
      if (entry.isSymbolicLink()) links.push(`${relative(folder, path)} (symbolic link)`)
      else if (entry.isDirectory()) walk(path)
      else if (lstatSync(path).nlink > 1) links.push(`${relative(folder, path)} (hard link)`)
    }
  }
  walk(folder)
  if (links.length > 0) {
    throw pluginErrors.create('PLINTH_ERR_PLUGIN_UNSAFE_FILES', `${file}: the plugin folder holds links, which the sandbox refuses: ${links.join(', ')}`, { details: { file, links } })
  }
}

function installedPlugins(from: string): PluginCandidate[] {
  const nodeModules = join(from, 'node_modules')
  const folders: string[] = []
  let names: string[]
  try {
    names = readdirSync(nodeModules)
  } catch {
    return []
  }
  for (const name of names) {
    if (name.startsWith('.')) continue
    if (name.startsWith('@')) {
      const scoped = readdirOrNothing(join(nodeModules, name))
      folders.push(...scoped.map((s) => join(nodeModules, name, s)))
    } else folders.push(join(nodeModules, name))
  }
  const found: PluginCandidate[] = []
  for (const folder of folders.sort()) {
    const pkg = packageJsonOf(folder)
    if (!pkg || !Array.isArray(pkg.keywords) || !pkg.keywords.includes('plinth-plugin')) continue
    found.push(candidateOf(folder, 'package'))
  }
  return found
}

/** The result of synchronous work as a promise: what it throws becomes the rejection. */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

function readdirOrNothing(path: string): string[] {
  try {
    return readdirSync(path)
  } catch {
    return []
  }
}

function packageJsonOf(folder: string): { keywords?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { keywords?: unknown }
  } catch {
    return undefined
  }
}
