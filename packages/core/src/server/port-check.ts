/**
 * The ports of an app, checked before anything starts. A server declares where it will listen
 * (listensOn, as metricsServer() and the server packages do); before the start phase every
 * declared address is bound and closed at once, and every conflict is reported together: a
 * second instance started beside the first learns of all five ports in use, not of the first
 * one a server happened to reach. The check is a snapshot (a port can be taken between the
 * check and the listen), so each server's own listen still fails with the same clear error.
 */
import { createServer } from 'node:net'
import type { Node } from '../container/graph.js'
import { originalProvider, type AnyProvider } from '../container/provider.js'
import { PlinthError, describe } from '../errors.js'
import { listenAddress, listenFailure, type ListenAddress, type ListeningApp } from './listen-address.js'
import type { ListenerSpec } from './listener.js'

/** What a server component declared about where it listens: the spec and options it passes to listenOn. */
export interface DeclaredListener {
  readonly spec: ListenerSpec
  readonly options: { readonly host?: string | undefined; readonly port?: number | undefined }
}

const declared = new WeakMap<AnyProvider, DeclaredListener>()

/**
 * Declares that `provider`'s component listens where `listenOn(app, spec, options)` will bind:
 * the app then checks that port before any component starts. Returns the provider.
 *
 * @example
 * const spec = { server: 'admin', key: 'admin', env: 'ADMIN_PORT', port: 9100 }
 * export const adminServer = listensOn(component('admin-server', { eager: true, start: (s) => s.listen(spec), ... }), spec)
 */
export function listensOn<P extends AnyProvider>(provider: P, spec: ListenerSpec, options: DeclaredListener['options'] = {}): P {
  declared.set(provider, { spec, options })
  return provider
}

/**
 * What a provider (or the provider a module copied) declared with listensOn(), if it did.
 *
 * @example
 * declaredListener(metricsServer())?.spec.env // 'METRICS_PORT'
 */
export function declaredListener(provider: AnyProvider): DeclaredListener | undefined {
  return declared.get(originalProvider(provider))
}

/** Binds the address and closes it at once: undefined when it could be bound, else the bind's error. */
function probe(address: ListenAddress): Promise<unknown> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', resolve)
    server.listen(address.port, address.host, () => server.close(() => resolve(undefined)))
  })
}

const wildcard = (host: string) => host === '' || host === '0.0.0.0' || host === '::'

/** Two addresses the same socket could not hold both of: one port, and one host or a wildcard. */
const overlaps = (a: ListenAddress, b: ListenAddress) => a.port === b.port && (a.host === b.host || wildcard(a.host) || wildcard(b.host))

/**
 * Checks every port the components declared (listensOn) before any of them starts, and rejects
 * with one PLINTH_ERR_BOOT_FAILED listing each server that cannot listen: its address, where
 * its port came from, and the variable to change. Port 0 (any free port) is not checked.
 *
 * @example
 * await checkPorts(app, lifecycle.bootSet()) // before lifecycle.start()
 */
export async function checkPorts(app: ListeningApp, components: readonly Pick<Node, 'name' | 'reg'>[]): Promise<void> {
  const found: ({ component: string; error: unknown } | undefined)[] = []
  const checked: { address: ListenAddress; server: string; component: string }[] = []
  const probes: Promise<void>[] = []
  for (const { name, reg } of components) {
    const listener = declaredListener(reg as AnyProvider)
    if (listener === undefined) continue
    const { spec } = listener
    const slot = found.push(undefined) - 1
    let address: ListenAddress
    try {
      address = listenAddress(app, spec, listener.options)
    } catch (error) {
      found[slot] = { component: name, error }
      continue
    }
    if (address.port === 0) continue
    const other = checked.find((c) => overlaps(c.address, address))
    if (other !== undefined) {
      found[slot] = { component: name, error: sharedPort(spec, address, other) }
      continue
    }
    checked.push({ address, server: spec.server, component: name })
    probes.push(probe(address).then((error) => void (error === undefined ? undefined : (found[slot] = { component: name, error: listenFailure(spec.server, address, spec.env, error) }))))
  }
  await Promise.all(probes)
  const failures = found.filter((f) => f !== undefined)
  if (failures.length === 0) return
  const lines = failures.flatMap((f) => [`  - ${f.component}: ${describe(f.error)}`, ...(f.error instanceof PlinthError ? [`    fix: ${f.error.hint}`] : [])])
  const servers = failures.length === 1 ? '1 server cannot listen' : `${failures.length} servers cannot listen`
  throw new PlinthError('PLINTH_ERR_BOOT_FAILED', `start-up refused: ${servers}, so nothing was started:\n${lines.join('\n')}`, {
    hint: 'Apply each fix listed, then start again; the ports were checked before any component started, so nothing had to be stopped.',
    details: { failures },
  })
}

/** Two servers of one app on one port: the second names the first, rather than "stop the process holding it". */
function sharedPort(spec: ListenerSpec, address: ListenAddress, other: { address: ListenAddress; server: string; component: string }): PlinthError {
  return new PlinthError('PLINTH_ERR_LISTEN_FAILED', `the ${spec.server} server cannot listen on ${address.host}:${address.port} (port from ${address.source}): the ${other.server} server of this app (${other.component}) listens on ${other.address.host}:${other.address.port} (port from ${other.address.source})`, {
    hint: `Set ${spec.env} to a port no other server of the app uses (0 picks a free one).`,
    details: { host: address.host, port: address.port, code: 'EADDRINUSE' },
  })
}
