import type { AddressInfo } from 'node:net'
import { PlinthError } from '../errors.js'

export interface ListenAddress {
  readonly host: string
  readonly port: number
  /** Where the port came from, for error messages: `option`, `env HTTP_PORT`, `--http.port`, `config/production.yaml (http.port)`, `default`. */
  readonly source: string
}

/**
 * What a server reads of the app to find its address: the loaded configuration (with the source
 * of each key) and the environment the app was started with. An App is one.
 */
export interface ListeningApp {
  readonly config: { readonly value: unknown; readonly sources?: ReadonlyMap<string, string> } | undefined
  readonly env: NodeJS.ProcessEnv
}

export interface AddressDefaults {
  /** The configuration key of the server: `http` reads `http.port` and `http.host`. */
  readonly key: string
  /** The environment variable read when the configuration has no such key: `HTTP_PORT`. */
  readonly env: string
  readonly port: number
}

/**
 * Where a server listens: its options first, then the app's configuration (`<key>.port`,
 * `<key>.host`, then `host`), then the environment the app was started with (`<ENV>`, from
 * `app.env`: never process.env, so that a test's `env` is the whole truth), then 127.0.0.1 and
 * the default port. Reading the configuration means that `HTTP_PORT` or `--http.port=8001` work
 * through the app's validated config when it declares the key; the source reported is the one
 * that set the value there (`env HTTP_PORT`, `--http.port`, `config/production.yaml`).
 *
 * @example
 * const { host, port } = listenAddress(app, { key: 'metrics', env: 'METRICS_PORT', port: 9090 }, options)
 */
export function listenAddress(app: ListeningApp, defaults: AddressDefaults, options: { host?: string | undefined; port?: number | undefined } = {}): ListenAddress {
  const config = (app.config?.value ?? {}) as Record<string, unknown>
  const section = (config[defaults.key] ?? {}) as Record<string, unknown>
  const host = options.host ?? stringOf(section.host) ?? stringOf(config.host) ?? '127.0.0.1'
  let port: unknown
  let source: string
  if (options.port !== undefined) [port, source] = [options.port, 'option']
  else if (section.port !== undefined) [port, source] = [section.port, configSource(app, `${defaults.key}.port`)]
  else if (app.env[defaults.env] !== undefined) [port, source] = [app.env[defaults.env], `env ${defaults.env}`]
  else [port, source] = [defaults.port, 'default']
  const number = typeof port === 'number' ? port : Number(port)
  if (!Number.isInteger(number) || number < 0 || number > 65_535) {
    throw new PlinthError('PLINTH_ERR_INVALID_CONFIG', `${defaults.key} port ${JSON.stringify(port)} (from ${source}) is not a port number`, {
      hint: `Set ${defaults.env} to an integer from 0 to 65535 (0 picks a free port).`,
    })
  }
  return { host, port: number, source }
}

/**
 * The URL of a listening server, with IPv6 hosts bracketed.
 *
 * @example
 * app.announce('ws', urlOf(server.address())) // http://127.0.0.1:8765, http://[::1]:8765
 */
export function urlOf(address: AddressInfo | string | null, path = ''): string {
  if (address === null) return '(not listening)'
  if (typeof address === 'string') return `unix:${address}`
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}${path}`
}

/**
 * The host a client on this machine dials to reach a server listening on `host`: a wildcard
 * (`0.0.0.0`, `::`, empty) is reached on the loopback of its family; IPv6 is bracketed for a URL.
 *
 * @example
 * `ws://${dialHost('0.0.0.0')}:8080/` // 'ws://127.0.0.1:8080/'
 * dialHost('::') // '[::1]'
 */
export function dialHost(host: string): string {
  const reached = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host
  return reached.includes(':') ? `[${reached}]` : reached
}

/**
 * A listen failure that names the address, where the port came from, and what to do.
 *
 * @example
 * server.once('error', (error) => reject(listenFailure('WebSocket', address, 'WS_PORT', error)))
 */
export function listenFailure(server: string, address: ListenAddress, envName: string, error: unknown): PlinthError {
  const code = (error as { code?: string }).code
  const why = code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EADDRNOTAVAIL' ? 'the address is not on this machine' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : String((error as Error).message ?? error)
  return new PlinthError('PLINTH_ERR_LISTEN_FAILED', `the ${server} server cannot listen on ${address.host}:${address.port} (port from ${address.source}): ${why}`, {
    cause: error,
    hint: `Set ${envName} to a free port (0 picks one), or stop the process holding ${address.port}.`,
    details: { host: address.host, port: address.port, code },
  })
}

/** What set a configuration key, as the configuration recorded it: `env HTTP_PORT`, `--http.port`, `config/production.yaml (http.port)`. */
function configSource(app: ListeningApp, path: string): string {
  const origin = app.config?.sources?.get(path)
  if (origin === undefined) return `config ${path}`
  if (/^(\.?env |--)/.test(origin)) return origin
  return origin === 'default' || origin === 'schema default' ? `config default of ${path}` : `${origin} (${path})`
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}
