import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of a server, that a test closes and reopens: a dependency that goes away
 * (every connection cut, nothing listening), or that turns into a black hole (connections
 * accepted, nothing ever answered), and comes back on the same port, without stopping the
 * shared server other tests use.
 *
 * @example
 * const proxy = await TcpProxy.create({ host: '127.0.0.1', port: 5432 })
 * // point the app at 127.0.0.1:proxy.port, then:
 * await proxy.close() // the database is gone: connections refused
 * await proxy.open() // and back
 * proxy.blackhole() // connections accepted, bytes swallowed both ways
 * proxy.restore() // answering again (the swallowed connections are cut)
 */
export class TcpProxy {
  readonly port: number
  readonly #target: { host: string; port: number }
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  #blackholed = false
  /** Connections accepted so far. */
  accepted = 0

  private constructor(port: number, target: { host: string; port: number }) {
    this.port = port
    this.#target = target
  }

  /** A proxy on a free port, not yet listening unless `open` is true. */
  static async create(target: { host: string; port: number }, open = true): Promise<TcpProxy> {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as { port: number }).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const proxy = new TcpProxy(port, target)
    if (open) await proxy.open()
    return proxy
  }

  get listening(): boolean {
    return this.#server !== undefined
  }

  /** Starts accepting connections again. */
  async open(): Promise<void> {
    if (this.#server) return
    const server = createServer((client) => {
      this.accepted++
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
      // Not pipe(): a black hole drops the bytes instead of holding them back.
      client.on('data', (chunk: Buffer) => void (this.#blackholed || upstream.write(chunk)))
      upstream.on('data', (chunk: Buffer) => void (this.#blackholed || client.write(chunk)))
    })
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()))
    this.#server = server
  }

  /** Keeps accepting and keeps every connection open, but forwards nothing: a server that hangs. */
  blackhole(): void {
    this.#blackholed = true
  }

  /** Ends the black hole: connections that lost bytes are cut, new ones are forwarded. */
  restore(): void {
    if (!this.#blackholed) return
    this.#blackholed = false
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
  }

  /** Stops listening and cuts every connection, as a server that went down would. */
  async close(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
