/**
 * The reference service as a real process: spawned with `node`, its output collected, its ready
 * line parsed, stopped with SIGTERM. For the tests where the process is the point (the ready
 * line, signals, exit codes, the bundle `plinth build` writes); the others start it in-process
 * (service.ts).
 */
import { spawn } from 'node:child_process'

/** The ready line's fields, as the service logs them in JSON. */
export interface ReadyLine {
  readonly msg: string
  readonly bootMs: number
  readonly endpoints: ReadonlyArray<{ readonly name: string; readonly url: string }>
}

export interface ServiceProcess {
  /** Everything the process has written so far, standard output and error together. */
  output(): string
  /** The ready line, parsed; rejects with the output when the process exits before it. */
  readonly ready: Promise<ReadyLine>
  /** The exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>
  /** Sends SIGTERM and resolves to the exit code. */
  stop(): Promise<number | null>
}

/**
 * Runs `node <args>` in `cwd` with exactly `env` (nothing of the test's own environment).
 *
 * @example
 * const service = spawnService([main], { cwd, env: { PATH: process.env.PATH, ...freePorts } })
 * const http = endpoint(await service.ready, 'http')
 * expect(await service.stop()).toBe(0)
 */
export function spawnService(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ServiceProcess {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready = new Promise<ReadyLine>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      // Whole lines only: a chunk can end in the middle of one.
      const line = output.split('\n').slice(0, -1).find((l) => l.includes('"msg":"ready in'))
      if (line !== undefined) resolve(JSON.parse(line) as ReadyLine)
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    void exited.then(() => reject(new Error(`the service exited before it was ready:\n${output}`)))
  })
  // A test that fails before it awaits `ready` must not also leave an unhandled rejection.
  ready.catch(() => undefined)
  return {
    output: () => output,
    ready,
    exited,
    stop() {
      child.kill('SIGTERM')
      return exited
    },
  }
}

/** The address the ready line gives for one server: http, docs, websocket, grpc, graphql, metrics. */
export function endpoint(ready: ReadyLine, name: string): string {
  const found = ready.endpoints.find((e) => e.name === name)
  if (found === undefined) throw new Error(`the ready line names no ${name} endpoint, only ${ready.endpoints.map((e) => e.name).join(', ')}`)
  return found.url
}
