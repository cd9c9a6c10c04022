import { describe, expect, it } from 'vitest'
import { isPlinthError } from '@plinth/core'
import { isSandboxed, levelCapabilities, validateManifest } from '../src/index.js'

const file = 'plugins/word-filter/plugin.json'
const folder = '/srv/plugins/word-filter'
const valid = { id: 'word-filter', version: '1.2.0', entry: 'index.mjs', level: 'basic', capabilities: ['topics:publish'], plinth: '^0.1.0' }

function problems(value: unknown): string[] {
  try {
    validateManifest(value, file, folder)
  } catch (error) {
    if (isPlinthError(error, 'PLINTH_ERR_PLUGIN_MANIFEST')) return error.details.problems as string[]
    throw error
  }
  throw new Error('expected the manifest to be refused')
}

describe('plugin.json validation', () => {
  it('accepts a valid manifest and fills the defaults', () => {
    expect(validateManifest(valid, file, folder)).toEqual({ ...valid, description: '', hosts: [], dependencies: {}, limits: {} })
    expect(validateManifest({ id: 'a', version: '0.0.1', entry: 'a.js' }, file, folder)).toMatchObject({ level: 'read-only', capabilities: [], plinth: '*' })
  })

  it('lists every field at fault at once, naming the file', () => {
    const bad = {
      id: 'Word Filter',
      version: 'one',
      entry: '../outside.mjs',
      level: 'root',
      capabilities: ['state:read', 'teleport'],
      hosts: ['https://example.com'],
      dependencies: { units: 'latest!', 'Bad Id': '1' },
      plinth: 'soon',
      limits: { memoryMb: 1, cpu: 2 },
      colour: 'blue',
    }
    expect(problems(bad)).toEqual([
      'colour: unknown field; the fields are id, version, entry, description, level, capabilities, hosts, dependencies, plinth, limits',
      'id: "Word Filter" must be 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
      'version: "one" is not a semver version such as 1.2.0',
      'entry: "../outside.mjs" must be a path inside the plugin folder',
      'level: "root" must be one of read-only, basic, elevated, admin, system',
      'capabilities[1]: "teleport" is not a capability; use state:read, state:write, topics:publish, topics:subscribe, routes:register, http:fetch, files:read',
      'hosts[0]: "https://example.com" must be a host name such as api.example.com or *.example.com (lower case, optional :port)',
      'dependencies.units: "latest!" is not a semver range such as ^1.0.0',
      'dependencies.Bad Id: is not a valid plugin id',
      'plinth: "soon" is not a semver range such as ^0.1.0',
      'limits.cpu: unknown limit; the limits are memoryMb and callTimeout',
      'limits.memoryMb: 1 must be a whole number of MiB from 16 to 4096',
    ])
    try {
      validateManifest(bad, file, folder)
    } catch (error) {
      expect((error as Error).message).toMatch(/^plugins\/word-filter\/plugin\.json: 12 problems:\n {2}- colour: unknown field/)
    }
  })

  it('refuses a capability beyond the level, and hosts without http:fetch', () => {
    expect(problems({ ...valid, capabilities: ['state:write', 'routes:register'], hosts: ['api.example.com'] })).toEqual([
      'capabilities[0]: "state:write" is beyond level "basic"; raise the level or drop the capability',
      'capabilities[1]: "routes:register" is beyond level "basic"; raise the level or drop the capability',
      'hosts: lists hosts but "http:fetch" is not among the capabilities',
    ])
  })

  it('requires id, version and entry, and a JSON object', () => {
    expect(problems({})).toEqual(['id: is required', 'version: is required', 'entry: is required'])
    expect(() => validateManifest([], file, folder)).toThrow(`${file}: must hold a JSON object; got an array`)
    expect(problems({ ...valid, entry: 'index.ts' })).toEqual(['entry: "index.ts" must be an ES module file (.mjs, or .js with "type": "module")'])
    expect(problems({ ...valid, dependencies: { 'word-filter': '^1.0.0' } })).toEqual(['dependencies.word-filter: a plugin cannot depend on itself'])
  })

  it('grants each level more than the one below it; system holds what admin does, and runs in process', () => {
    const levels = ['read-only', 'basic', 'elevated', 'admin', 'system'] as const
    for (let i = 1; i < levels.length; i++) {
      const lower = levelCapabilities[levels[i - 1]!]
      const higher = levelCapabilities[levels[i]!]
      expect([...lower].every((c) => higher.has(c))).toBe(true)
      expect(higher.size > lower.size).toBe(levels[i] !== 'system')
    }
    expect(isSandboxed('admin')).toBe(true)
    expect(isSandboxed('system')).toBe(false)
    expect([...levelCapabilities['read-only']]).toEqual(['state:read', 'topics:subscribe', 'files:read'])
    expect(levelCapabilities.admin.has('routes:register')).toBe(true)
    expect(levelCapabilities.elevated.has('routes:register')).toBe(false)
  })
})
