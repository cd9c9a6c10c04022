/**
 * A TCP proxy in front of a server, closed or open at the test's command: a database that is
 * down at start and comes back on the same address, without touching the shared server.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export class TcpProxy {
  readonly port: number
  readonly #target: { host: string; port: number }
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined

  private constructor(port: number, target: { host: string; port: number }) {
    this.port = port
    this.#target = target
  }

  /** A proxy on a free port, not listening yet: connections to it are refused until open(). */
  static async closed(target: { host: string; port: number }): Promise<TcpProxy> {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as { port: number }
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    return new TcpProxy(port, target)
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target)
      this.#sockets.add(client).add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        this.#sockets.delete(client)
        this.#sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()))
    this.#server = server
  }

  async close(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
