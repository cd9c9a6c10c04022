/**
 * The directories handler: the standard directories under the data directory (the data
 * directory itself, logs, cache, tmp) and every directory the app and its modules declare,
 * with their permissions. An existing directory is left alone unless its declared mode differs.
 */
import type { Stats } from 'node:fs'
import { chmod, mkdir, stat } from 'node:fs/promises'
import type { BootstrapHandler } from './bootstrap.js'
import { destination, display, owner, plannedHandler, type Step } from './steps.js'
import { PlinthError } from '../errors.js'

/** The directories every app gets under its data directory, unless `standardDirectories` is false. */
export const STANDARD_DIRECTORIES = ['.', 'logs', 'cache', 'tmp'] as const

const octal = (mode: number) => `0${mode.toString(8)}`

/** The file's stat, or undefined when nothing is there. */
export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * The built-in directories handler (priority 10).
 *
 * @example
 * createApp({ name: 'svc', bootstrap: { handlers: [directoriesHandler({ standard: false })] } })
 */
export function directoriesHandler(options: { standard?: boolean } = {}): BootstrapHandler {
  return plannedHandler('directories', 10, async (context) => {
    const wanted = new Map<string, { mode: number | undefined; module: string | undefined; declaredBy: string }>()
    if (options.standard ?? true) for (const dir of STANDARD_DIRECTORIES) wanted.set(destination(context, dir), { mode: undefined, module: undefined, declaredBy: 'the standard directories' })
    for (const set of context.requirements) {
      for (const dir of set.requirements.directories) {
        const path = destination(context, dir.path)
        const seen = wanted.get(path)
        // Two declarations of one directory: an explicit mode wins over none; the first explicit one wins over a later one.
        if (!seen || (seen.mode === undefined && dir.mode !== undefined)) wanted.set(path, { mode: dir.mode, module: set.owner, declaredBy: owner(set) })
      }
    }
    const steps: Step[] = []
    // Parents before children, so the report reads top-down. Code-point order: a prefix sorts
    // first all the same, and the first localeCompare of a process costs ICU's collator (~10 ms).
    for (const [path, { mode, module, declaredBy }] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const target = display(context, path)
      const found = await statOrUndefined(path)
      const base = { subject: 'directory', target, module }
      if (!found) {
        steps.push({
          ...base,
          action: 'create',
          detail: mode === undefined ? undefined : `mode ${octal(mode)}`,
          apply: async () => {
            await mkdir(path, { recursive: true, ...(mode === undefined ? {} : { mode }) })
            // mkdir's mode passes through the umask; an explicit mode is what the declaration asked for.
            if (mode !== undefined) await chmod(path, mode)
          },
        })
      } else if (!found.isDirectory()) {
        throw new PlinthError('PLINTH_ERR_BOOTSTRAP_PATH', `${target} (declared by ${declaredBy}) exists but is not a directory`, {
          hint: `Move ${target} away (or change the declaration), then start again.`,
        })
      } else if (mode !== undefined && (found.mode & 0o7777) !== mode) {
        steps.push({ ...base, action: 'repair', detail: `mode ${octal(found.mode & 0o7777)} -> ${octal(mode)}`, apply: () => chmod(path, mode) })
      } else {
        steps.push({ ...base, action: 'skip', detail: 'exists' })
      }
    }
    return steps
  })
}
