import { existsSync, readFileSync } from 'node:fs'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { App } from '../app/app.js'
import { runCommand } from './cli.js'
// The binary loads cli.js directly, not the index; the bootstrap command must register either way.
import './bootstrap-command.js'
import { PlinthError } from '../errors.js'
import { showPath } from '../container/site.js'
import { loadFailure } from '../modules/load-failure.js'

/**
 * Finds the app module: `--app PATH` on the command line, else "plinth": { "app": PATH } in the
 * package.json of the working directory.
 */
function locateApp(argv: string[]): { path: string; rest: string[] } {
  const rest = [...argv]
  const flag = rest.findIndex((arg) => arg === '--app' || arg.startsWith('--app='))
  if (flag !== -1) {
    const arg = rest[flag]!
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : rest[flag + 1]
    rest.splice(flag, arg.includes('=') ? 1 : 2)
    if (value) return { path: resolve(value), rest }
  }
  const manifest = resolve('package.json')
  if (existsSync(manifest)) {
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { plinth?: { app?: string } }
    if (pkg.plinth?.app) return { path: resolve(pkg.plinth.app), rest }
  }
  throw new PlinthError('PLINTH_ERR_APP_NOT_FOUND', `no app module given and no "plinth.app" in ${manifest}`)
}

async function importApp(path: string): Promise<App> {
  if (!existsSync(path)) throw new PlinthError('PLINTH_ERR_APP_NOT_FOUND', `the app module ${path} does not exist (is the project built?)`)
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

/** The `plinth` binary: loads the app module, then runs the command. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'help' || argv[0] === '--help' || argv.length === 0) {
      const { path, rest } = locateApp(argv.length === 0 ? [] : argv.slice(1))
      return runCommand(await importApp(path), ['help', ...rest])
    }
    const { path, rest } = locateApp(argv)
    return runCommand(await importApp(path), rest)
  } catch (error) {
    process.stderr.write(`${error instanceof PlinthError ? error.describe() : String(error)}\n`)
    return 1
  }
}
