/**
 * The config files handler: files made from templates (or inline content) when missing, and
 * never overwritten once they exist, because an operator may have edited them. A file appears
 * whole or not at all: it is written to a temporary name and linked into place, which fails
 * rather than replace a file someone created meanwhile.
 */
import { chmod, link, lstat, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'
import type { BootstrapContext, BootstrapHandler, RequirementSet } from './bootstrap.js'
import type { CheckedRequirements } from './requirements.js'
import { destination, discard, display, owner, plannedHandler, type Step } from './steps.js'
import { PlinthError, describe } from '../errors.js'

type FileSpec = CheckedRequirements['files'][number]

const placeholder = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g

/**
 * Fills `{{name}}` placeholders. An unknown name is an error naming the template, line and name,
 * because a config file with a literal `{{dataDir}}` in it fails later and far from here.
 *
 * @example
 * renderTemplate('path: {{dataDir}}/db.sqlite', { dataDir: '/srv/data' }, 'templates/db.yaml')
 * // 'path: /srv/data/db.sqlite'
 */
export function renderTemplate(text: string, variables: Readonly<Record<string, string>>, where: string): string {
  const unknown: string[] = []
  const out = text.replace(placeholder, (match, name: string, offset: number) => {
    const value = variables[name]
    if (value !== undefined) return value
    unknown.push(`{{${name}}} on line ${text.slice(0, offset).split('\n').length}`)
    return match
  })
  if (unknown.length > 0) {
    throw new PlinthError('PLINTH_ERR_TEMPLATE', `the template ${where} uses unknown placeholders: ${unknown.join(', ')}`, {
      hint: `Known placeholders: ${Object.keys(variables).map((n) => `{{${n}}}`).join(', ')}; add others under the file's "variables".`,
    })
  }
  return out
}

async function exists(path: string): Promise<'file' | 'other' | undefined> {
  try {
    return (await lstat(path)).isDirectory() ? 'other' : 'file'
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

async function render(context: BootstrapContext, set: RequirementSet, file: FileSpec): Promise<{ text: string; from: string }> {
  const variables = { dataDir: context.dataDir, appName: context.appName, appEnv: context.appEnv, module: set.owner ?? '', ...file.variables }
  if (file.template === undefined) return { text: renderTemplate(file.content ?? '', variables, `inline content of ${file.path}`), from: 'inline content' }
  const path = resolve(set.baseDir, file.template)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new PlinthError('PLINTH_ERR_TEMPLATE', `the template ${display(context, path)} for ${file.path} (declared by ${owner(set)}) cannot be read: ${describe(error)}`, {
      hint: 'Template paths are relative to the module\'s folder (its baseDir); check the path, and that the template is shipped with the build.',
      cause: error,
    })
  }
  return { text: renderTemplate(text, variables, display(context, path)), from: display(context, path) }
}

/** Writes `text` to `path` only if nothing is there, never partially. */
async function createExclusively(path: string, text: string, mode: number | undefined): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.part`)
  try {
    await writeFile(temp, text, { flag: 'wx', mode: mode ?? 0o644 })
    if (mode !== undefined) await chmod(temp, mode)
    try {
      await link(temp, path)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EEXIST') return
      // Some filesystems have no hard links; there, check and rename (a narrow race, but no partial file).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw error
      if ((await exists(path)) === undefined) await rename(temp, path)
    }
  } finally {
    await discard(temp)
  }
}

/**
 * The built-in config files handler (priority 20).
 *
 * @example
 * defineModule({ id: 'search', bootstrap: { files: [{ path: 'search/settings.yaml', template: 'templates/settings.yaml' }] } })
 */
export function filesHandler(): BootstrapHandler {
  return plannedHandler('files', 20, async (context) => {
    const steps: Step[] = []
    const planned = new Set<string>()
    for (const set of context.requirements) {
      for (const file of set.requirements.files) {
        const path = destination(context, file.path)
        const target = display(context, path)
        if (planned.has(path)) continue
        planned.add(path)
        const found = await exists(path)
        if (found === 'other') throw new PlinthError('PLINTH_ERR_BOOTSTRAP_PATH', `${target} (declared by ${owner(set)} as a file) exists but is a directory`)
        if (found === 'file') {
          steps.push({ subject: 'file', target, module: set.owner, action: 'skip', detail: 'exists; never overwritten' })
          continue
        }
        // Rendered while planning, so a dry run reports a missing template or placeholder too.
        const { text, from } = await render(context, set, file)
        steps.push({ subject: 'file', target, module: set.owner, action: 'create', detail: `from ${from}`, apply: () => createExclusively(path, text, file.mode) })
      }
    }
    return steps
  })
}
