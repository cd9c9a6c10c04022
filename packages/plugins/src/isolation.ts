/**
 * How a plugin process is started: which kernel isolation this machine allows, the command
 * line, and how much memory the process tree holds (read by the host from /proc, not asked of
 * the plugin, which could lie).
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/**
 * `namespaces`: the plugin runs in its own user, network and PID namespaces (util-linux
 * `unshare`), so it has no network at all and cannot signal the host. `process`: a plain child
 * process; the sandbox runtime's JavaScript guards are then the only network block.
 */
export type Isolation = 'namespaces' | 'process'

/** The runtime every sandboxed plugin process starts with. */
export const runtimeFile = fileURLToPath(new URL('../runtime/sandbox-runtime.cjs', import.meta.url))

const unshareArgs = ['--user', '--map-root-user', '--net', '--pid', '--fork', '--kill-child']
let probed: Isolation | undefined

/**
 * The strongest isolation this machine allows, probed once: namespaces when unprivileged user
 * namespaces and `unshare` are available (most Linux hosts), a plain process otherwise.
 *
 * @example
 * if (availableIsolation() === 'process') log.warn('plugins have network access: no namespaces here')
 */
export function availableIsolation(user?: { uid: number; gid: number }): Isolation {
  if (probed !== undefined) return probed
  if (process.platform !== 'linux') return (probed = 'process')
  const result = spawnSync('unshare', [...unshareArgs, 'true'], { stdio: 'ignore', timeout: 5_000, ...(user ?? {}) })
  return (probed = result.status === 0 ? 'namespaces' : 'process')
}

/** Exit status of a short command run without blocking the event loop; null when it could not run or timed out. */
function statusOf(command: string, args: string[], user?: { uid: number; gid: number }): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', timeout: 5_000, ...(user ?? {}) })
    child.once('error', () => resolve(null))
    child.once('exit', (code) => resolve(code))
  })
}

/**
 * Probes what {@link availableIsolation} and {@link launchPlan} need (namespaces, `setpriv`)
 * without blocking: both probes run as child processes side by side while the rest of the app
 * starts, and their answers are kept, so the synchronous calls that follow ask nothing again.
 *
 * @example
 * const isolation = await probeIsolation()
 */
export async function probeIsolation(user?: { uid: number; gid: number }): Promise<Isolation> {
  if (process.platform !== 'linux') return availableIsolation(user)
  // Where both are there (most Linux hosts), one process answers for both: the launch itself in
  // miniature, setpriv running unshare as the plugins' user. Only when it fails are they asked
  // apart, to tell which one is missing. Each process started costs the host a fork while it starts.
  if (probed === undefined && setpriv === undefined && (await statusOf('setpriv', ['--pdeathsig', 'KILL', 'unshare', ...unshareArgs, 'true'], user)) === 0) {
    setpriv = true
    return (probed = 'namespaces')
  }
  const [unshare, priv] = await Promise.all([probed === undefined ? statusOf('unshare', [...unshareArgs, 'true'], user) : undefined, setpriv === undefined ? statusOf('setpriv', ['--pdeathsig', 'KILL', 'true']) : undefined])
  if (probed === undefined) probed = unshare === 0 ? 'namespaces' : 'process'
  if (setpriv === undefined) setpriv = priv === 0
  return probed
}

/** The isolation a plugin process is launched with, and whether it was assumed rather than probed. */
export interface LaunchIsolation {
  readonly isolation: Isolation
  /** Whether util-linux `setpriv` starts it (parent-death signal). */
  readonly setpriv: boolean
  /** Nothing was probed yet: the launch assumes the strongest isolation and proves it by starting. */
  readonly assumed: boolean
}

/**
 * What to launch the next plugin process with. Before anything was probed on Linux, the
 * strongest isolation (namespaces, with `setpriv`) is assumed rather than probed: the launch is
 * the probe, so a start does not wait for a probe process before the plugin's own (a process
 * start under a busy host costs tens of milliseconds). A launch that speaks proves it
 * ({@link isolationProven}); one that dies without a word is asked again after {@link probeIsolation}.
 *
 * @example
 * const launch = launchIsolation()
 * const plan = launchPlan(folder, 64, launch.isolation, runtimeFile, launch.setpriv)
 */
export function launchIsolation(): LaunchIsolation {
  if (probed !== undefined && setpriv !== undefined) return { isolation: probed, setpriv, assumed: false }
  if (process.platform !== 'linux') return { isolation: availableIsolation(), setpriv: hasSetpriv(), assumed: false }
  return { isolation: 'namespaces', setpriv: true, assumed: true }
}

/**
 * Records that a process launched with the assumed isolation ({@link launchIsolation}) started
 * and spoke: namespaces and `setpriv` work here, as the plugins' user.
 *
 * @example
 * if (launch.assumed) isolationProven()
 */
export function isolationProven(): void {
  probed = 'namespaces'
  setpriv = true
}

export interface LaunchPlan {
  readonly command: string
  readonly args: string[]
}

/**
 * The command that starts a plugin: node with the permission model reading only the plugin's
 * folder and the runtime, a heap cap, no addons and no eval of strings, optionally inside
 * namespaces, killed with its host where util-linux `setpriv` is available (probed unless `withSetpriv` says). `entry` replaces the runtime (tests use it to probe the isolation itself).
 *
 * @example
 * const { command, args } = launchPlan('/srv/plugins/word-filter', 64, 'namespaces')
 */
export function launchPlan(folder: string, heapMb: number, isolation: Isolation, entry: string = runtimeFile, withSetpriv: boolean = hasSetpriv()): LaunchPlan {
  const node = [
    '--experimental-permission',
    `--allow-fs-read=${folder}/`,
    `--allow-fs-read=${entry}`,
    `--max-old-space-size=${heapMb}`,
    '--max-semi-space-size=4',
    '--disallow-code-generation-from-strings',
    '--no-warnings',
    '--no-addons',
    entry,
  ]
  const command = isolation === 'namespaces' ? ['unshare', ...unshareArgs, process.execPath, ...node] : [process.execPath, ...node]
  // setpriv gives the process a parent-death signal: if the host dies, even by SIGKILL, its
  // plugin processes die with it instead of running on (a busy one never sees its pipe close).
  return withSetpriv ? { command: 'setpriv', args: ['--pdeathsig', 'KILL', ...command] } : { command: command[0]!, args: command.slice(1) }
}

let setpriv: boolean | undefined
function hasSetpriv(): boolean {
  if (setpriv !== undefined) return setpriv
  if (process.platform !== 'linux') return (setpriv = false)
  return (setpriv = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0)
}

/**
 * The /proc files that say how much of a process tree is resident, read one at a time as the
 * walk asks for them: the sync and the async reader below share this walk and differ only in
 * how they read a file.
 */
function* residentWalk(pid: number): Generator<string, number, string> {
  let total = 0
  const stack = [pid]
  while (stack.length > 0) {
    const at = stack.pop()!
    const status = yield `/proc/${at}/status`
    const match = /VmRSS:\s+(\d+) kB/.exec(status)
    if (match) total += Number(match[1]) * 1024
    const children = (yield `/proc/${at}/task/${at}/children`).trim()
    if (children) stack.push(...children.split(/\s+/).map(Number))
  }
  return total
}

/**
 * Resident memory of a process and all its descendants in bytes, from /proc (Linux); undefined
 * elsewhere or when the process is gone.
 *
 * @example
 * const rss = treeResidentBytes(child.pid!)
 */
export function treeResidentBytes(pid: number): number | undefined {
  try {
    const walk = residentWalk(pid)
    let step = walk.next()
    while (!step.done) step = walk.next(readFileSync(step.value, 'utf8'))
    return step.value
  } catch {
    return undefined
  }
}

/**
 * `treeResidentBytes` without blocking the event loop: what the sandbox's memory watchdog uses
 * every 100 ms. A /proc read waits on the process it describes, and a process in the middle of
 * `exec` or of mapping its heap can hold it for milliseconds: on the host's main thread that
 * stalls every request it serves.
 *
 * @example
 * const rss = await readTreeResidentBytes(child.pid!)
 */
export async function readTreeResidentBytes(pid: number): Promise<number | undefined> {
  try {
    const walk = residentWalk(pid)
    let step = walk.next()
    while (!step.done) step = walk.next(await readFile(step.value, 'utf8'))
    return step.value
  } catch {
    return undefined
  }
}
