/** Brokers of a test's own, on free ports, for restart tests: started, killed and started again. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function waitForPort(port: number, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.once('connect', () => (socket.end(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export interface OwnServer {
  readonly port: number
  readonly url: string
  /** SIGKILL, then start again on the same port and data directory. */
  restart(): Promise<void>
  stop(): Promise<void>
}

async function ownServer(scheme: string, command: (port: number, dir: string) => [string, string[]]): Promise<OwnServer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), `plinth-${scheme}-`))
  let child: ChildProcess | undefined
  const launch = async () => {
    const [binary, args] = command(port, dir)
    child = spawn(binary, args, { stdio: 'ignore' })
    await waitForPort(port)
  }
  const kill = async () => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  await launch()
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    restart: async () => {
      await kill()
      await launch()
    },
    stop: async () => {
      await kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A redis-server whose every write is fsynced before it answers, so SIGKILL loses nothing acknowledged. */
export const ownRedis = () =>
  ownServer('redis', (port, dir) => ['redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always']])

/** A nats-server with JetStream, storing in a directory of its own. */
export const ownNats = () => ownServer('nats', (port, dir) => ['nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir]])
