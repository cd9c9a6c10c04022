/**
 * The one way every Plinth server opens its port (HTTP, WebSocket, gRPC, GraphQL, metrics):
 * the address from the app's configuration and environment (listen-address.ts), the server's
 * own bind, and one failure that names the address, where the port came from and what to do.
 */
import type { AddressInfo, Server } from 'node:net'
import { listenAddress, listenFailure, type AddressDefaults, type ListenAddress, type ListeningApp } from './listen-address.js'

/** A server's listener: its name in messages (`HTTP`), its configuration key, env variable and default port. */
export interface ListenerSpec extends AddressDefaults {
  /** As the server is called in messages: `HTTP`, `WebSocket`, `gRPC`, `GraphQL`, `metrics`. */
  readonly server: string
}

/**
 * Finds where the server listens and binds it there with `bind`; a bind that fails (port taken,
 * address not local, no permission) rejects with PLINTH_ERR_LISTEN_FAILED naming the address
 * and where its port came from. An invalid port fails before `bind` is called.
 *
 * @example
 * const { bound } = await listenOn(app, { server: 'WebSocket', key: 'ws', env: 'WS_PORT', port: 8765 }, options, (address) => bindNetServer(http, address))
 * app.announce('websocket', urlOf(bound))
 */
export async function listenOn<T>(
  app: ListeningApp,
  spec: ListenerSpec,
  options: { host?: string | undefined; port?: number | undefined },
  bind: (address: ListenAddress) => Promise<T>,
): Promise<{ address: ListenAddress; bound: T }> {
  const address = listenAddress(app, spec, options)
  try {
    return { address, bound: await bind(address) }
  } catch (error) {
    throw listenFailure(spec.server, address, spec.env, error)
  }
}

/**
 * Binds a node:net or node:http server to an address; resolves with the address it got (the
 * real port when 0 was asked for), rejects with the server's error.
 *
 * @example
 * const info = await bindNetServer(createServer(handler), { host: '127.0.0.1', port: 0, source: 'option' })
 */
export function bindNetServer(server: Server, address: ListenAddress): Promise<AddressInfo | string | null> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => resolve(server.address()))
  })
}
