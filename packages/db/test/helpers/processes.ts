import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const root = fileURLToPath(new URL('../../../../', import.meta.url))

export interface Run {
  readonly child: ChildProcess
  /** Resolves with how the process ended and what it wrote. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
  /** Resolves once the process has written `text` to stderr. */
  waitFor(text: string): Promise<void>
  /** Writes a line to the process's standard input. */
  send(line: string): void
}

/** Runs a TypeScript file of this folder as a real Node.js process, loaded through tsx from the sources. */
export function runScript(file: string, env: Record<string, string>): Run {
  const script = fileURLToPath(new URL(file, import.meta.url))
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const waiters: Array<{ text: string; resolve: () => void }> = []
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    for (const waiter of [...waiters]) if (stderr.includes(waiter.text)) waiter.resolve()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  return {
    child,
    exited,
    send: (line) => child.stdin.write(`${line}\n`),
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(text)) return resolve()
        waiters.push({ text, resolve })
        void exited.then(({ code, signal }) => reject(new Error(`the process ended (code ${code}, signal ${signal}) before writing "${text}":\n${stderr}`)))
      }),
  }
}
