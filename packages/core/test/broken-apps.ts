/**
 * Runs the broken apps of fixtures/broken-apps as a user would: `plinth <command> --app
 * src/app.ts` (the binary, on the built package), and `node --import tsx src/main.ts <command>`,
 * an entry point that calls `run(app)`. Each app imports `@plinth/core` as users do.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const bin = fileURLToPath(new URL('../bin/plinth.js', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

export interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const fixtureDir = (app: string): string => fileURLToPath(new URL(`./fixtures/broken-apps/${app}/`, import.meta.url))

function spawnIn(app: string, args: string[], env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: fixtureDir(app),
      env: { PATH: process.env.PATH, APP_ENV: 'development', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    // A service that did start is stopped as an operator would, so that its shutdown is part of what it printed.
    let stopped = false
    const stopOnceReady = () => {
      if (stopped || !(stdout.includes('ready in') || stderr.includes('ready in'))) return
      stopped = true
      child.kill('SIGTERM')
    }
    child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), stopOnceReady()))
    child.stderr.on('data', (chunk: Buffer) => ((stderr += chunk.toString()), stopOnceReady()))
    const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => {
      clearTimeout(deadline)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `plinth <command> --app src/app.ts` in the app's folder. */
export function plinth(app: string, command: string, args: string[] = [], env: Record<string, string> = {}): Promise<Outcome> {
  return plinthOn(app, 'src/app.ts', command, args, env)
}

/** `plinth <command> --app <entry>` in the app's folder: a compiled app's `dist/app.js`, say. */
export function plinthOn(app: string, entry: string, command: string, args: string[] = [], env: Record<string, string> = {}): Promise<Outcome> {
  return spawnIn(app, [bin, command, '--app', entry, ...args], env)
}

/** The app's own entry point, `await run(app)` in src/main.ts, run with `command`. */
export function runApp(app: string, command: string, args: string[] = [], env: Record<string, string> = {}): Promise<Outcome> {
  return spawnIn(app, ['--import', tsx, 'src/main.ts', command, ...args], env)
}

/** `node <entry> <command>` in the app's folder: a compiled entry point calling `run(app)`, as `npm start` runs it in production. */
export function nodeOn(app: string, entry: string, command: string, env: Record<string, string> = {}): Promise<Outcome> {
  return spawnIn(app, [entry, command], env)
}

/** Each way a user meets a report: `plinth check`, `plinth start` and `run(app)` with start. */
export const ways = [
  ['plinth check', (app: string, env?: Record<string, string>) => plinth(app, 'check', [], env)],
  ['plinth start', (app: string, env?: Record<string, string>) => plinth(app, 'start', [], env)],
  ['run(app)', (app: string, env?: Record<string, string>) => runApp(app, 'start', [], env)],
] as const
