import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { EventSpy } from '@plinth/core/testing'
import { PluginHost, type PluginEvent, type PluginHostOptions } from '../src/index.js'

export const fixtures = new URL('./fixtures/', import.meta.url).pathname

/** A folder the plugin processes (run as nobody when the tests run as root) can read. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  await chmod(dir, 0o755)
  return dir
}

export interface TestHost extends AsyncDisposable {
  readonly host: PluginHost
  readonly spy: EventSpy<PluginEvent>
  /** The host's data folder; each plugin's is `<dataDir>/<id>`. */
  readonly dataDir: string
  /** Resolves with the first event of `type` for `id` from now on. */
  next<T extends PluginEvent['type']>(type: T, id: string): Promise<Extract<PluginEvent, { type: T }>>
}

const pluginUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined

/**
 * Whether namespaces and `setpriv` work here for the plugins' user, asked with a process of the
 * test's own so that the package's probe stays unasked.
 */
export const namespacesHere =
  process.platform === 'linux' &&
  spawnSync('setpriv', ['--pdeathsig', 'KILL', 'unshare', '--user', '--map-root-user', '--net', '--pid', '--fork', '--kill-child', 'true'], { stdio: 'ignore', ...(pluginUser ?? {}) }).status === 0

/** A plugins folder holding one basic-level plugin `id` whose entry is `source`. */
export async function pluginFolder(id: string, source: string): Promise<string> {
  const dir = await tempDir('plinth-plugins-launch-')
  await mkdir(join(dir, id))
  await writeFile(join(dir, id, 'plugin.json'), JSON.stringify({ id, version: '1.0.0', entry: 'index.mjs', level: 'basic' }))
  await writeFile(join(dir, id, 'index.mjs'), source)
  return dir
}

/** Starts a plugin host on the given options with a data folder of its own, stopped at the end of the block. */
export async function startHost(options: Omit<PluginHostOptions, 'dataDir'>): Promise<TestHost> {
  const dataDir = await tempDir('plinth-plugins-data-')
  const host = new PluginHost({ ...options, dataDir })
  const spy = new EventSpy<PluginEvent>()
  host.events.subscribe(spy.listener)
  await host.start()
  return {
    host,
    spy,
    dataDir,
    next: (type, id) =>
      new Promise((resolve) => {
        const off = host.events.subscribe((event) => {
          if (event.type === type && event.id === id) {
            off()
            resolve(event as never)
          }
        })
      }),
    [Symbol.asyncDispose]: async () => {
      await host.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A small HTTP server in the test process: the "host still serving" probe, and a fetch target. */
export async function startServer(): Promise<{ server: Server; port: number; served: () => Promise<string>; close: () => Promise<void> }> {
  const server = createServer((req, res) => res.end(req.url === '/data' ? 'the data' : 'serving'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    server,
    port,
    served: () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
