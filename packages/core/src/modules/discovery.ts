/**
 * Finds modules in a folder: one sub-folder per module, holding a `module.json` manifest, a
 * module file (`module.js`, `module.ts`, ...) whose default export is a module, or both (the
 * manifest declares, the code supplies components and init). A module that cannot be read is a
 * candidate with an error, so registration can exclude it, and its dependants, with the reason.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FieldProblem } from '../bootstrap/requirements.js'
import { PlinthError, describe } from '../errors.js'
import { bundledModule } from './bundled.js'
import { loadFailure } from './load-failure.js'
import { checkModule, invalidModule, type CheckedModule } from './validation.js'

export interface ModuleDiscoveryOptions {
  /** The folder with one sub-folder per module; relative to the working directory unless a URL or absolute. */
  dir: string | URL
  /** Ids of modules that must load: failing to read one is fatal even when its code never ran. */
  required?: readonly string[]
  /** Module file names tried in each sub-folder, in order. Default module.js, module.mjs, module.ts, module.mts. */
  files?: readonly string[]
}

/** A module found by discovery or listed by the app, before dependencies are checked. */
export interface ModuleCandidate {
  /** The module's id; its folder name when the module could not be read. */
  readonly id: string
  /** Where it was declared or found. */
  readonly source: string
  readonly required: boolean
  readonly checked?: CheckedModule
  /** Why it cannot be registered, when it cannot. */
  readonly error?: PlinthError
}

const defaultFiles = ['module.js', 'module.mjs', 'module.ts', 'module.mts']
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Discovers the modules of a folder, sorted by folder name.
 *
 * @example
 * const candidates = await discoverModules({ dir: new URL('./modules/', import.meta.url) })
 * for (const c of candidates) console.log(c.id, c.error?.message ?? 'ok')
 */
export async function discoverModules(options: ModuleDiscoveryOptions, cwd = process.cwd()): Promise<ModuleCandidate[]> {
  const dir = options.dir instanceof URL ? fileURLToPath(options.dir) : resolve(cwd, options.dir)
  const required = new Set(options.required ?? [])
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    throw new PlinthError('PLINTH_ERR_MODULE_DISCOVERY', `cannot read the modules folder ${dir}: ${describe(error)}`, { cause: error })
  }
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_')).map((e) => e.name).sort()
  const out: ModuleCandidate[] = []
  for (const name of folders) {
    const folder = join(dir, name)
    const candidate = await readModuleFolder(folder, name, options.files ?? defaultFiles, required, cwd)
    if (candidate) out.push(candidate)
  }
  return out
}

/**
 * The module files discovery would import from a folder, in its order: each sub-folder's
 * manifest `main`, else the first of `files` present. `plinth build` compiles these into the
 * bundle; folders that name no file (a manifest alone) have nothing to compile.
 *
 * @example
 * const files = await moduleFiles({ dir: new URL('./modules/', import.meta.url) })
 */
export async function moduleFiles(options: ModuleDiscoveryOptions, cwd = process.cwd()): Promise<string[]> {
  const dir = options.dir instanceof URL ? fileURLToPath(options.dir) : resolve(cwd, options.dir)
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    throw new PlinthError('PLINTH_ERR_MODULE_DISCOVERY', `cannot read the modules folder ${dir}: ${describe(error)}`, { cause: error })
  })
  const out: string[] = []
  for (const entry of entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_')).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const folder = join(dir, entry.name)
    const manifest = await readManifest(join(folder, 'module.json'), join(folder, 'module.json')).catch(() => undefined)
    const main = manifest && 'value' in manifest && typeof manifest.value.main === 'string' ? resolve(folder, manifest.value.main) : (options.files ?? defaultFiles).map((f) => join(folder, f)).find((f) => existsSync(f))
    if (main && existsSync(main)) out.push(main)
  }
  return out
}

async function readModuleFolder(folder: string, name: string, files: readonly string[], required: Set<string>, cwd: string): Promise<ModuleCandidate | undefined> {
  const show = (path: string) => relative(cwd, path) || path
  const manifestPath = join(folder, 'module.json')
  const hasManifest = existsSync(manifestPath)
  let manifest: Record<string, unknown> | undefined
  if (hasManifest) {
    const read = await readManifest(manifestPath, show(manifestPath))
    if ('error' in read) return { id: name, source: show(manifestPath), required: required.has(name), error: read.error }
    manifest = read.value
    const { checked, problems } = checkModule(manifest, { source: show(manifestPath), kind: 'manifest', baseDir: folder })
    const id = typeof manifest.id === 'string' ? manifest.id : name
    const isRequired = manifest.required === true || required.has(id) || required.has(name)
    if (!checked) return { id, source: show(manifestPath), required: isRequired, error: invalidModule(show(manifestPath), manifest.id, problems) }
  }
  const main = typeof manifest?.main === 'string' ? resolve(folder, manifest.main) : files.map((f) => join(folder, f)).find((f) => existsSync(f))
  if (!manifest && !main) return undefined
  const manifestId = typeof manifest?.id === 'string' ? manifest.id : undefined
  const id = manifestId ?? name
  const requiredById = manifest?.required === true || required.has(id) || required.has(name)

  let exported: unknown = {}
  const inBundle = main === undefined ? undefined : bundledModule(main)
  if (main) {
    if (!inBundle && !existsSync(main)) {
      const error = invalidModule(show(manifestPath), id, [{ field: 'main', message: `names ${show(main)}, which does not exist (is the module built?)` }])
      return { id, source: show(manifestPath), required: requiredById, error }
    }
    try {
      const loaded = inBundle ?? ((await import(pathToFileURL(main).href)) as Record<string, unknown>)
      exported = loaded.default ?? (manifest ? { components: loaded.components, init: loaded.init } : undefined)
    } catch (error) {
      // What the file itself threw, and where; a TypeScript hint only when TypeScript was what failed to load.
      return { id, source: show(main), required: requiredById, error: loadFailure(error, 'PLINTH_ERR_MODULE_IMPORT_FAILED', `module "${id}" (${show(main)})`) }
    }
  }
  const source = show(main ?? manifestPath)
  if (!isRecord(exported)) {
    const problems: FieldProblem[] = [{ field: 'default export', message: 'must be a module: export default defineModule({ id, version, components })' }]
    return { id, source, required: requiredById, error: invalidModule(source, id, problems) }
  }
  let declaration: Record<string, unknown> = exported
  if (manifest) {
    // The manifest declares; the code supplies what JSON cannot hold.
    const problems: FieldProblem[] = []
    if (exported.id !== undefined && exported.id !== manifestId) problems.push({ field: 'id', message: `is ${JSON.stringify(exported.id)}, but ${show(manifestPath)} says ${JSON.stringify(manifestId)}` })
    if (problems.length > 0) return { id, source, required: requiredById, error: invalidModule(source, id, problems) }
    const { $schema: _schema, description: _description, main: _main, ...fields } = manifest
    declaration = { ...fields, components: exported.components ?? [], ...(exported.init === undefined ? {} : { init: exported.init }) }
  }
  const { checked, problems } = checkModule(declaration, { source, kind: 'declaration', baseDir: folder })
  const declaredId = typeof declaration.id === 'string' ? declaration.id : id
  const isRequired = declaration.required === true || required.has(declaredId) || required.has(name)
  if (!checked) return { id: declaredId, source, required: isRequired, error: invalidModule(source, declaration.id, problems) }
  return { id: checked.module.id, source, required: isRequired, checked }
}

async function readManifest(path: string, shown: string): Promise<{ value: Record<string, unknown> } | { error: PlinthError }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    return { error: new PlinthError('PLINTH_ERR_INVALID_MODULE', `cannot read the manifest ${shown}: ${describe(error)}`, { cause: error }) }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { error: invalidModule(shown, undefined, [{ field: '(root)', message: `is not valid JSON: ${describe(error)}` }]) }
  }
  if (!isRecord(value)) return { error: invalidModule(shown, undefined, [{ field: '(root)', message: `must be a JSON object; got ${JSON.stringify(value)}` }]) }
  return { value }
}
