/**
 * Checks a module declaration (defineModule, a discovered module's default export) or a
 * `module.json` manifest, naming the file and every field at fault at once.
 */
import { dirname, resolve } from 'node:path'
import { checkRequirements, type CheckedRequirements, type FieldProblem } from '../bootstrap/requirements.js'
import { PlinthError } from '../errors.js'
import { lazyRequire } from './lazy-require.js'
import type { Module } from './module.js'
import { Site } from '../container/site.js'

const semver = lazyRequire<typeof import('semver')>('semver')

/** A module that passed validation, with what registration and the bootstrap phase need. */
export interface CheckedModule {
  readonly module: Module
  readonly requirements: CheckedRequirements
  /** Where it was declared: "file:line" of defineModule, or a manifest's path. */
  readonly source: string
  /** The folder template and artifact source paths are relative to. */
  readonly baseDir: string
}

const declarationFields = ['id', 'version', 'dependsOn', 'components', 'required', 'init', 'initTimeout', 'bootstrap', 'baseDir', 'site']
const manifestFields = ['$schema', 'id', 'version', 'description', 'dependsOn', 'required', 'initTimeout', 'bootstrap', 'main']
const show = (value: unknown) => JSON.stringify(value) ?? String(value)
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The folder of the file a declaration site ("src/modules/a/module.ts:12") points at. */
export function folderOfSite(site: unknown): string | undefined {
  const text = typeof site === 'string' ? site : site instanceof Site ? site.toString() : ''
  const file = /^(.*):\d+$/.exec(text)?.[1]
  return file === undefined || file === '' ? undefined : dirname(resolve(file))
}

/**
 * Validates the fields both kinds share, and those only one kind may have. Returns the problems
 * (empty when valid) and, when valid, the module in its checked form.
 */
export function checkModule(
  value: unknown,
  options: { source: string; kind: 'declaration' | 'manifest'; baseDir?: string | undefined },
): { checked?: CheckedModule; problems: FieldProblem[] } {
  const problems: FieldProblem[] = []
  if (!isRecord(value)) {
    const expected = options.kind === 'manifest' ? 'a JSON object' : 'a module: export default defineModule({ id, ... })'
    return { problems: [{ field: '(root)', message: `must be ${expected}; got ${show(value)}` }] }
  }
  const known = options.kind === 'manifest' ? manifestFields : declarationFields
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const hint = key === 'bootstrap_requirements' ? '; it is spelled "bootstrap" here' : key === 'dependencies' ? '; module dependencies go in "dependsOn"' : ''
    problems.push({ field: key, message: `unknown field${hint}; expected one of ${known.join(', ')}` })
  }
  const { id, version, dependsOn, required, initTimeout } = value
  if (typeof id !== 'string' || !/^[A-Za-z0-9@][A-Za-z0-9@/._-]*$/.test(id)) {
    problems.push({ field: 'id', message: `must be a module id of letters, digits, @, /, ., _ or -; got ${show(id)}` })
  }
  const versionText = version === undefined && options.kind === 'declaration' ? '0.0.0' : version
  if (typeof versionText !== 'string' || semver().valid(versionText) === null) {
    problems.push({ field: 'version', message: `must be a semver version such as "1.2.0"; got ${show(version)}` })
  }
  if (dependsOn !== undefined && !isRecord(dependsOn)) {
    problems.push({ field: 'dependsOn', message: `must map module ids to semver ranges, e.g. { "users": "^1.0.0" }; got ${show(dependsOn)}` })
  }
  for (const [dep, range] of Object.entries(isRecord(dependsOn) ? dependsOn : {})) {
    if (typeof range !== 'string' || semver().validRange(range) === null) {
      problems.push({ field: `dependsOn.${dep}`, message: `must be a semver range such as "^1.0.0" or "*"; got ${show(range)}` })
    }
    if (dep === id) problems.push({ field: `dependsOn.${dep}`, message: 'a module cannot depend on itself' })
  }
  if (required !== undefined && typeof required !== 'boolean') problems.push({ field: 'required', message: `must be true or false; got ${show(required)}` })
  if (initTimeout !== undefined && (typeof initTimeout !== 'number' || !(initTimeout > 0))) {
    problems.push({ field: 'initTimeout', message: `must be a positive number of milliseconds; got ${show(initTimeout)}` })
  }
  if (options.kind === 'declaration') {
    if (value.components !== undefined && !Array.isArray(value.components)) {
      problems.push({ field: 'components', message: `must be a list of providers (component(...), provide(...)); got ${show(value.components)}` })
    }
    for (const [i, provider] of (Array.isArray(value.components) ? value.components : []).entries()) {
      if (!isRecord(provider) || typeof provider.create !== 'function' || !isRecord(provider.provides)) {
        problems.push({ field: `components[${i}]`, message: 'must be a provider made by component(...) or provide(...)' })
      }
    }
    if (value.init !== undefined && typeof value.init !== 'function') problems.push({ field: 'init', message: `must be a function; got ${show(value.init)}` })
    if (value.baseDir !== undefined && typeof value.baseDir !== 'string') problems.push({ field: 'baseDir', message: `must be a folder path; got ${show(value.baseDir)}` })
  } else if (value.main !== undefined && (typeof value.main !== 'string' || value.main === '')) {
    problems.push({ field: 'main', message: `must be the path of the module's code, relative to the manifest; got ${show(value.main)}` })
  }
  const requirements = checkRequirements(value.bootstrap, 'bootstrap', true, problems)
  if (problems.length > 0) return { problems }

  const declared = value as Partial<Module>
  const module: Module = {
    ...declared,
    id: id as string,
    version: versionText as string,
    dependsOn: (dependsOn ?? {}) as Record<string, string>,
    components: (declared.components ?? []),
    required: (required ?? false) as boolean,
  }
  const baseDir = declared.baseDir ?? options.baseDir ?? folderOfSite(declared.site) ?? process.cwd()
  return { checked: { module, requirements, source: options.source, baseDir }, problems }
}

/** One error for every problem of one declaration, naming its file and each field. */
export function invalidModule(source: string, id: unknown, problems: readonly FieldProblem[]): PlinthError {
  const name = typeof id === 'string' && id !== '' ? `module "${id}"` : 'a module'
  const lines = problems.map((p) => `  - ${p.field}: ${p.message}`)
  return new PlinthError('PLINTH_ERR_INVALID_MODULE', `${name} (${source}) has ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}:\n${lines.join('\n')}`, {
    details: { source, problems },
  })
}
