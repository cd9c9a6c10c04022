/**
 * plugin.json: what a plugin is, what it runs, and what it asks of the host. Validation names
 * the file and every field at fault at once, so a plugin author fixes them in one go.
 */
import { resolve, sep } from 'node:path'
import semver from 'semver'
import { pluginErrors } from './errors.js'
import { capabilities, levelCapabilities, permissionLevels, type Capability, type PermissionLevel } from './permissions.js'

/** Per-plugin resource limits; each defaults from the host's options. */
export interface PluginLimits {
  /** Heap cap of the plugin process in MiB (`--max-old-space-size`); the resident-size limit is this plus 96 MiB. */
  readonly memoryMb?: number
  /** Deadline of one call into the plugin, in milliseconds; past it the process is killed and restarted. */
  readonly callTimeout?: number
}

/** A validated plugin.json. */
export interface PluginManifest {
  readonly id: string
  readonly version: string
  /** The module the host loads, relative to the plugin folder. */
  readonly entry: string
  readonly description: string
  readonly level: PermissionLevel
  readonly capabilities: readonly Capability[]
  /** Hosts the plugin may fetch from (needs `http:fetch`): `api.example.com`, or `*.example.com`. */
  readonly hosts: readonly string[]
  /** Other plugins it needs, with semver ranges. */
  readonly dependencies: Readonly<Record<string, string>>
  /** The Plinth versions it supports, as a semver range. */
  readonly plinth: string
  readonly limits: PluginLimits
}

const idPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/
const hostPattern = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/
const known = new Set(['id', 'version', 'entry', 'description', 'level', 'capabilities', 'hosts', 'dependencies', 'plinth', 'limits', '$schema'])

/**
 * Checks a parsed plugin.json. Throws PLINTH_ERR_PLUGIN_MANIFEST listing every field at fault
 * (`plugins/foo/plugin.json: level: must be one of ...`); `folder` is where `entry` must stay.
 *
 * @example
 * const manifest = validateManifest(JSON.parse(text), 'plugins/word-filter/plugin.json', 'plugins/word-filter')
 */
export function validateManifest(value: unknown, file: string, folder: string): PluginManifest {
  const problems: string[] = []
  const fail = (field: string, message: string) => problems.push(`${field}: ${message}`)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw pluginErrors.create('PLINTH_ERR_PLUGIN_MANIFEST', `${file}: must hold a JSON object; got ${Array.isArray(value) ? 'an array' : typeof value}`, { details: { file } })
  }
  const m = value as Record<string, unknown>
  for (const key of Object.keys(m)) if (!known.has(key)) fail(key, `unknown field; the fields are ${[...known].filter((k) => k !== '$schema').join(', ')}`)

  const text = (field: string, required: boolean): string | undefined => {
    const v = m[field]
    if (v === undefined) {
      if (required) fail(field, 'is required')
      return undefined
    }
    if (typeof v !== 'string' || v.trim() === '') {
      fail(field, `must be a non-empty string; got ${JSON.stringify(v)}`)
      return undefined
    }
    return v
  }

  const id = text('id', true)
  if (id !== undefined && !idPattern.test(id)) fail('id', `"${id}" must be 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`)
  const version = text('version', true)
  if (version !== undefined && semver.valid(version) === null) fail('version', `"${version}" is not a semver version such as 1.2.0`)
  const entry = text('entry', true)
  if (entry !== undefined) {
    const root = resolve(folder)
    const target = resolve(root, entry)
    if (!target.startsWith(root + sep)) fail('entry', `"${entry}" must be a path inside the plugin folder`)
    else if (!/\.(mjs|js)$/.test(entry)) fail('entry', `"${entry}" must be an ES module file (.mjs, or .js with "type": "module")`)
  }
  const description = m.description === undefined ? '' : text('description', false) ?? ''
  const levelValue = m.level ?? 'read-only'
  const level = permissionLevels.includes(levelValue as PermissionLevel) ? (levelValue as PermissionLevel) : undefined
  if (level === undefined) fail('level', `${JSON.stringify(levelValue)} must be one of ${permissionLevels.join(', ')}`)

  const asked: Capability[] = []
  if (m.capabilities !== undefined && !Array.isArray(m.capabilities)) fail('capabilities', 'must be an array of capability names')
  for (const [i, c] of ((Array.isArray(m.capabilities) ? m.capabilities : []) as unknown[]).entries()) {
    if (!capabilities.includes(c as Capability)) fail(`capabilities[${i}]`, `${JSON.stringify(c)} is not a capability; use ${capabilities.join(', ')}`)
    else if (level !== undefined && !levelCapabilities[level].has(c as Capability)) fail(`capabilities[${i}]`, `"${String(c)}" is beyond level "${level}"; raise the level or drop the capability`)
    else asked.push(c as Capability)
  }

  const hosts: string[] = []
  if (m.hosts !== undefined && !Array.isArray(m.hosts)) fail('hosts', 'must be an array of host names')
  for (const [i, h] of ((Array.isArray(m.hosts) ? m.hosts : []) as unknown[]).entries()) {
    if (typeof h !== 'string' || !hostPattern.test(h)) fail(`hosts[${i}]`, `${JSON.stringify(h)} must be a host name such as api.example.com or *.example.com (lower case, optional :port)`)
    else hosts.push(h)
  }
  if (hosts.length > 0 && !asked.includes('http:fetch')) fail('hosts', 'lists hosts but "http:fetch" is not among the capabilities')

  const dependencies: Record<string, string> = {}
  if (m.dependencies !== undefined && (typeof m.dependencies !== 'object' || m.dependencies === null || Array.isArray(m.dependencies))) {
    fail('dependencies', 'must be an object of plugin id to semver range, e.g. { "units": "^1.0.0" }')
  } else {
    for (const [dep, range] of Object.entries((m.dependencies ?? {}) as Record<string, unknown>)) {
      if (!idPattern.test(dep)) fail(`dependencies.${dep}`, 'is not a valid plugin id')
      else if (typeof range !== 'string' || semver.validRange(range) === null) fail(`dependencies.${dep}`, `${JSON.stringify(range)} is not a semver range such as ^1.0.0`)
      else if (dep === id) fail(`dependencies.${dep}`, 'a plugin cannot depend on itself')
      else dependencies[dep] = range
    }
  }
  const plinth = text('plinth', false) ?? '*'
  if (semver.validRange(plinth) === null) fail('plinth', `"${plinth}" is not a semver range such as ^0.1.0`)

  const limits: { memoryMb?: number; callTimeout?: number } = {}
  if (m.limits !== undefined) {
    const l = m.limits as Record<string, unknown>
    if (typeof l !== 'object' || l === null || Array.isArray(l)) fail('limits', 'must be an object such as { "memoryMb": 64, "callTimeout": 1000 }')
    else {
      for (const key of Object.keys(l)) if (key !== 'memoryMb' && key !== 'callTimeout') fail(`limits.${key}`, 'unknown limit; the limits are memoryMb and callTimeout')
      if (l.memoryMb !== undefined) {
        if (!Number.isInteger(l.memoryMb) || (l.memoryMb as number) < 16 || (l.memoryMb as number) > 4096) fail('limits.memoryMb', `${JSON.stringify(l.memoryMb)} must be a whole number of MiB from 16 to 4096`)
        else limits.memoryMb = l.memoryMb as number
      }
      if (l.callTimeout !== undefined) {
        if (!Number.isInteger(l.callTimeout) || (l.callTimeout as number) < 10 || (l.callTimeout as number) > 600_000) fail('limits.callTimeout', `${JSON.stringify(l.callTimeout)} must be a whole number of milliseconds from 10 to 600000`)
        else limits.callTimeout = l.callTimeout as number
      }
    }
  }

  if (problems.length > 0) {
    throw pluginErrors.create('PLINTH_ERR_PLUGIN_MANIFEST', `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  - ${problems.join('\n  - ')}`, { details: { file, problems } })
  }
  return { id: id!, version: version!, entry: entry!, description, level: level!, capabilities: asked, hosts, dependencies, plinth, limits }
}
