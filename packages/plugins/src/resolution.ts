/**
 * Which discovered plugins load, in which order, and which are excluded and why. Every problem
 * is reported at once: unreadable manifests, duplicates, untrusted system plugins, unsupported
 * Plinth versions, missing, excluded or incompatible dependencies, and cycles (with their full
 * path). Exclusion cascades to the plugins that depend on an excluded one; the app starts
 * with the rest.
 */
import type { PlinthError } from '@plinth/core'
import semver from 'semver'
import type { PluginCandidate } from './discovery.js'
import { pluginErrors } from './errors.js'
import type { PluginManifest } from './manifest.js'

/** A plugin that can load: its folder and its validated manifest. */
export interface ResolvedPlugin {
  readonly folder: string
  readonly file: string
  readonly manifest: PluginManifest
}

export interface PluginExclusion {
  readonly id: string
  readonly file: string
  /** One line for logs and /health. */
  readonly reason: string
  readonly error: PlinthError
}

export interface PluginResolution {
  /** Dependencies before their dependants. */
  readonly ordered: readonly ResolvedPlugin[]
  readonly excluded: readonly PluginExclusion[]
}

export interface ResolveOptions {
  /** The Plinth version checked against each manifest's "plinth" range. */
  readonly plinthVersion: string
  /** Ids allowed to run at the system level, in the host process. */
  readonly trusted?: readonly string[]
}

/**
 * Orders the candidates by their dependencies and excludes those that cannot load, each with
 * its reason.
 *
 * @example
 * const { ordered, excluded } = resolvePlugins(await discoverPlugins({ dirs: ['plugins'] }), { plinthVersion: '0.1.0' })
 * for (const x of excluded) console.warn(`plugin ${x.id} excluded: ${x.reason}`)
 */
export function resolvePlugins(candidates: readonly PluginCandidate[], options: ResolveOptions): PluginResolution {
  const trusted = new Set(options.trusted ?? [])
  const excluded = new Map<string, PluginExclusion>()
  const exclude = (id: string, file: string, error: PlinthError) => {
    if (!excluded.has(id)) excluded.set(id, { id, file, reason: oneLine(error.message, file), error })
  }

  const byId = new Map<string, PluginCandidate[]>()
  for (const c of candidates) byId.set(c.id, [...(byId.get(c.id) ?? []), c])
  for (const [id, same] of byId) {
    if (same.length > 1) {
      const files = same.map((c) => c.file)
      exclude(id, files.join(' and '), pluginErrors.create('PLINTH_ERR_PLUGIN_DUPLICATE', `two plugins declare the id "${id}": ${files.join(' and ')}`, { details: { id, files } }))
    }
  }

  const remaining = new Map<string, ResolvedPlugin>()
  for (const c of candidates) {
    if (excluded.has(c.id)) continue
    if (c.error || !c.manifest) {
      exclude(c.id, c.file, c.error ?? pluginErrors.create('PLINTH_ERR_PLUGIN_MANIFEST', `${c.file}: no manifest`))
      continue
    }
    const m = c.manifest
    if (m.level === 'system' && !trusted.has(m.id)) {
      exclude(m.id, c.file, pluginErrors.create('PLINTH_ERR_PLUGIN_UNTRUSTED', `${c.file}: level "system" runs in the host process, and the host does not list "${m.id}" as trusted`, { details: { id: m.id } }))
      continue
    }
    if (!semver.satisfies(options.plinthVersion, m.plinth, { includePrerelease: true })) {
      exclude(m.id, c.file, pluginErrors.create('PLINTH_ERR_PLUGIN_INCOMPATIBLE', `${c.file}: supports Plinth ${m.plinth}, and this is Plinth ${options.plinthVersion}`, { details: { id: m.id, range: m.plinth } }))
      continue
    }
    remaining.set(m.id, { folder: c.folder, file: c.file, manifest: m })
  }

  for (;;) {
    let changed = false
    for (const [id, plugin] of remaining) {
      const error = dependencyProblem(plugin, remaining, excluded)
      if (error) {
        exclude(id, plugin.file, error)
        remaining.delete(id)
        changed = true
      }
    }
    if (changed) continue
    const { order, cycle } = topologicalOrder(remaining)
    if (!cycle) return { ordered: order, excluded: [...excluded.values()] }
    const path = [...cycle, cycle[0]].join(' -> ')
    for (const id of cycle) {
      const plugin = remaining.get(id)!
      exclude(id, plugin.file, pluginErrors.create('PLINTH_ERR_PLUGIN_DEPENDENCY', `${plugin.file}: plugin "${id}" is on a dependency cycle: ${path}`, { details: { cycle } }))
      remaining.delete(id)
    }
  }
}

function dependencyProblem(plugin: ResolvedPlugin, remaining: ReadonlyMap<string, ResolvedPlugin>, excluded: ReadonlyMap<string, PluginExclusion>): PlinthError | undefined {
  const { manifest: m, file } = plugin
  for (const [dep, range] of Object.entries(m.dependencies)) {
    const gone = excluded.get(dep)
    if (gone) {
      return pluginErrors.create('PLINTH_ERR_PLUGIN_DEPENDENCY', `${file}: plugin "${m.id}" needs "${dep}" ${range}, which was excluded: ${gone.reason}`, {
        cause: gone.error,
        details: { id: m.id, dependency: dep, range },
      })
    }
    const found = remaining.get(dep)
    if (!found) {
      return pluginErrors.create('PLINTH_ERR_PLUGIN_DEPENDENCY', `${file}: plugin "${m.id}" needs "${dep}" ${range}, which is not installed`, { details: { id: m.id, dependency: dep, range } })
    }
    if (!semver.satisfies(found.manifest.version, range, { includePrerelease: true })) {
      return pluginErrors.create('PLINTH_ERR_PLUGIN_DEPENDENCY', `${file}: plugin "${m.id}" needs "${dep}" ${range}, but "${dep}" is ${found.manifest.version} (${found.file})`, {
        details: { id: m.id, dependency: dep, range, version: found.manifest.version },
      })
    }
  }
  return undefined
}

/** Kahn's algorithm in discovery order; or one cycle when there is one. */
function topologicalOrder(nodes: ReadonlyMap<string, ResolvedPlugin>): { order: ResolvedPlugin[]; cycle?: string[] } {
  const waiting = new Map<string, number>()
  const dependants = new Map<string, string[]>()
  for (const [id, p] of nodes) {
    const deps = Object.keys(p.manifest.dependencies).filter((d) => nodes.has(d))
    waiting.set(id, deps.length)
    for (const dep of deps) dependants.set(dep, [...(dependants.get(dep) ?? []), id])
  }
  const ids = [...nodes.keys()]
  const done = new Set<string>()
  const order: ResolvedPlugin[] = []
  for (;;) {
    const next = ids.find((id) => !done.has(id) && waiting.get(id) === 0)
    if (next === undefined) break
    done.add(next)
    order.push(nodes.get(next)!)
    for (const d of dependants.get(next) ?? []) waiting.set(d, waiting.get(d)! - 1)
  }
  if (order.length === nodes.size) return { order }
  const left = ids.filter((id) => !done.has(id))
  const path: string[] = []
  let at = left[0]!
  while (!path.includes(at)) {
    path.push(at)
    at = Object.keys(nodes.get(at)!.manifest.dependencies).find((d) => nodes.has(d) && !done.has(d))!
  }
  return { order, cycle: path.slice(path.indexOf(at)) }
}

/** The message without the file prefix the reader already sees, on one line. */
function oneLine(message: string, file: string): string {
  const text = message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message
  return text.replace(/:\n\s+- /, ': ').replace(/\n\s+- /g, '; ').split('\n')[0] ?? text
}
