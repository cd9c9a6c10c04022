import { isIP } from 'node:net'
import { discoveryErrors } from './errors.js'

/** What the registry says of an instance's health: passing serves, warning serves, critical does not. */
export type InstanceHealth = 'passing' | 'warning' | 'critical'

/**
 * One running instance of a service, as registered and as discovered.
 *
 * @example
 * const instance: ServiceInstance = {
 *   service: 'orders', id: 'orders-7f9c', version: '1.4.0', weight: 1, health: 'passing', draining: false,
 *   addresses: { http: 'http://10.0.0.5:8000', grpc: 'http://10.0.0.5:50051' }, metadata: { zone: 'eu-west-1a' },
 * }
 */
export interface ServiceInstance {
  /** The service's name, a DNS label: `orders`. */
  readonly service: string
  /** Unique among the service's instances. */
  readonly id: string
  /** Each server's address by name (`http`, `grpc`, `websocket`...), as absolute URLs. */
  readonly addresses: Readonly<Record<string, string>>
  readonly version: string
  readonly metadata: Readonly<Record<string, string>>
  readonly health: InstanceHealth
  /** Shutting down: finishing what it has, taking nothing new. */
  readonly draining: boolean
  /** Relative share of traffic under weighted round robin, 1 to 1000. */
  readonly weight: number
}

/**
 * Whether a client should send new work to the instance: registered healthy (passing or
 * warning) and not draining.
 *
 * @example
 * const targets = (await registry.instances('orders')).filter(isRoutable)
 */
export function isRoutable(instance: ServiceInstance): boolean {
  return instance.health !== 'critical' && !instance.draining
}

const serviceName = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const instanceId = /^[A-Za-z0-9._:@-]{1,128}$/
const wildcardHosts = new Set(['0.0.0.0', '::'])

/**
 * Checks an instance before it is registered, and throws PLINTH_ERR_DISCOVERY_INVALID_INSTANCE
 * or PLINTH_ERR_DISCOVERY_INVALID_ADDRESS naming the field, so that no registry ever holds an
 * address nobody can reach. Every registry calls it on register.
 *
 * @example
 * checkInstance({ ...instance, addresses: { http: 'http://0.0.0.0:8000' } }) // throws: wildcard host
 */
export function checkInstance(instance: ServiceInstance): ServiceInstance {
  const where = `instance "${instance.id}" of service "${instance.service}"`
  if (typeof instance.service !== 'string' || !serviceName.test(instance.service)) {
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_INSTANCE', `service name ${JSON.stringify(instance.service)} is not a DNS label (lowercase letters, digits and dashes, at most 63)`, { details: { field: 'service' } })
  }
  if (typeof instance.id !== 'string' || !instanceId.test(instance.id)) {
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_INSTANCE', `${where}: id ${JSON.stringify(instance.id)} must be 1 to 128 characters of letters, digits and . _ : @ -`, { details: { field: 'id' } })
  }
  if (!Number.isInteger(instance.weight) || instance.weight < 1 || instance.weight > 1000) {
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_INSTANCE', `${where}: weight ${String(instance.weight)} must be an integer from 1 to 1000`, { details: { field: 'weight' } })
  }
  if (!['passing', 'warning', 'critical'].includes(instance.health)) {
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_INSTANCE', `${where}: health ${JSON.stringify(instance.health)} must be passing, warning or critical`, { details: { field: 'health' } })
  }
  const names = Object.keys(instance.addresses ?? {})
  if (names.length === 0) {
    throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_ADDRESS', `${where} has no address; others could not reach it`, { details: { field: 'addresses' } })
  }
  for (const name of names) checkAddress(name, instance.addresses[name], where)
  return instance
}

function checkAddress(name: string, address: unknown, where: string): void {
  const fail = (why: string) =>
    discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_ADDRESS', `${where}: address "${name}" ${JSON.stringify(address)} ${why}`, { details: { field: `addresses.${name}`, address } })
  if (typeof address !== 'string') throw fail('is not a string')
  let url: URL
  try {
    url = new URL(address)
  } catch {
    throw fail('is not an absolute URL (scheme://host:port)')
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (host === '') throw fail('has no network host (a unix socket or a path cannot be reached from another machine)')
  if (wildcardHosts.has(host)) throw fail('has a wildcard host that only means "every interface here"; advertise a routable host')
  if (url.port === '' && !['http:', 'https:'].includes(url.protocol)) throw fail('has no port')
  if (url.port === '0') throw fail('has port 0, which is not a listening port')
  if (isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) throw fail('has an invalid host')
}

/**
 * A copy with its fields in one order and sorted maps, so that equal instances serialise
 * equally (watches compare serialised lists to tell a change from a renewal).
 *
 * @example
 * normalizeInstance(JSON.parse(stored) as ServiceInstance)
 */
export function normalizeInstance(instance: ServiceInstance): ServiceInstance {
  const sorted = (record: Readonly<Record<string, string>> | undefined) => Object.fromEntries(Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
  return {
    service: instance.service,
    id: instance.id,
    addresses: sorted(instance.addresses),
    version: instance.version ?? '',
    metadata: sorted(instance.metadata),
    health: instance.health,
    draining: instance.draining === true,
    weight: instance.weight ?? 1,
  }
}
