import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const root = fileURLToPath(new URL('../../../', import.meta.url))

/** Polls `read` until `done` holds for its value; rejects with the last value after `timeout`. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeout = 10_000): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeout} ms; last value: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A promise and the functions that settle it. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

export interface ChildRun {
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>
}

/** Runs a fixture as a real Node.js process, from the TypeScript sources. */
export function runFixture(file: string, env: Record<string, string>): ChildRun {
  const script = fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url))
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = []
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(stderr)
      if (match) waiter.resolve(match)
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })))
  return {
    child,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const match = pattern.exec(stderr)
        if (match) return resolve(match)
        waiters.push({ pattern, resolve })
        void exited.then(({ code, signal }) => reject(new Error(`the worker ended (code ${code}, signal ${signal}) before writing ${pattern}:\n${stderr}`)))
      }),
  }
}
