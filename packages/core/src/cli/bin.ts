import { existsSync, readFileSync } from 'node:fs'
import { dirname, extname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { App } from '../app/app.js'
import { commandHelp, runCommand } from './cli.js'
// The binary loads cli.js directly, not the index; the bootstrap command must register either way.
import './bootstrap-command.js'
import './validate-command.js'
import './build-command.js'
import { PlinthError, reportError } from '../errors.js'

/** Where the app module is, and the project folder it is run from. */
interface Located {
  readonly path: string
  readonly rest: string[]
  /** The folder of the package.json that names the app; relative paths (.env, config/, DATA_DIR) are read from it. */
  readonly project?: string
}

/**
 * The nearest package.json, from `from` up to the file system's root, that names an app in
 * "plinth": { "app": PATH }: the project the command acts on, wherever in it the command runs.
 */
export function findProject(from: string): { dir: string; app: string } | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { plinth?: { app?: unknown } }
      if (typeof pkg.plinth?.app === 'string') return { dir, app: resolve(dir, pkg.plinth.app) }
    }
    if (dirname(dir) === dir) return undefined
  }
}
import { showPath } from '../container/site.js'
import { loadFailure } from '../modules/load-failure.js'

/**
 * Finds the app module: `--app PATH` on the command line, else "plinth": { "app": PATH } in the
 * nearest package.json at or above the working directory.
 */
function locateApp(argv: string[]): Located {
  const rest = [...argv]
  const flag = rest.findIndex((arg) => arg === '--app' || arg.startsWith('--app='))
  if (flag !== -1) {
    const arg = rest[flag]!
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : rest[flag + 1]
    rest.splice(flag, arg.includes('=') ? 1 : 2)
    if (value) return { path: resolve(value), rest }
    throw new PlinthError('PLINTH_ERR_CLI_USAGE', '--app needs the path of the module that exports the app: --app ./dist/app.js')
  }
  const project = findProject(process.cwd())
  if (project) return { path: project.app, rest, project: project.dir }
  throw new PlinthError('PLINTH_ERR_APP_NOT_FOUND', `no --app given, and no package.json with "plinth": { "app": ... } in ${process.cwd()} or a folder above it`)
}

async function importApp(path: string): Promise<App> {
  if (!existsSync(path)) throw new PlinthError('PLINTH_ERR_APP_NOT_FOUND', `the app module ${path} does not exist (is the project built? \`npx tsc -b\`)`)
  if (['.ts', '.mts', '.cts'].includes(extname(path))) {
    // TypeScript entry points load through tsx when the project has it.
    const tsx = (await import('tsx/esm/api').catch(() => undefined)) as { register?: () => void } | undefined
    if (!tsx?.register) throw new PlinthError('PLINTH_ERR_APP_NOT_FOUND', `${path} is TypeScript; install tsx, or point plinth at the compiled JavaScript`)
    tsx.register()
  }
  // Stacks of a compiled app then name its TypeScript lines (through its .js.map files), never dist/*.js.
  process.setSourceMapsEnabled(true)
  let loaded: { default?: unknown; app?: unknown }
  try {
    loaded = (await import(pathToFileURL(path).href)) as typeof loaded
  } catch (error) {
    throw loadFailure(error, 'PLINTH_ERR_APP_LOAD_FAILED', `the app module ${showPath(path)}`)
  }
  const app = loaded.app ?? loaded.default
  if (!(app instanceof App)) throw new PlinthError('PLINTH_ERR_APP_NOT_FOUND', `${path} exports no app: export const app = createApp({...}) (or export it as default)`)
  return app
}

const asksForHelp = (argv: string[]) => argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)

/**
 * The `plinth` binary: finds the app, runs the command from the app's project folder (so that
 * `.env`, `config/` and a relative DATA_DIR are the ones `npm start` uses there, whichever
 * subfolder the command is typed in), and resolves to the exit code. Usage prints anywhere; the
 * commands that packages add are listed once the app is found.
 */
export async function runCli(argv: string[]): Promise<number> {
  const write = (text: string) => process.stdout.write(`${text}\n`)
  try {
    if (asksForHelp(argv)) {
      const located = (() => {
        try {
          return locateApp(argv.slice(1))
        } catch {
          return undefined
        }
      })()
      const app = located ? await importApp(located.path).catch(() => undefined) : undefined
      if (!app) {
        write(commandHelp())
        write(`\nplinth acts on the app named by "plinth": { "app": "./dist/app.js" } in your project's package.json\n(found from any folder inside the project), or by --app PATH; the commands its packages add are listed then.`)
        return 0
      }
      return await runCommand(app, ['help', ...(located?.rest ?? [])])
    }
    const located = locateApp(argv)
    if (located.project) process.chdir(located.project)
    return await runCommand(await importApp(located.path), located.rest, { appModule: located.path })
  } catch (error) {
    process.stderr.write(`${reportError(error)}\n`)
    return 1
  }
}
