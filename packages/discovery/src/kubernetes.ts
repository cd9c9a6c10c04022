import { readFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { fingerprint, sortInstances, type InstancesListener, type Registry, type Watch } from './contract.js'
import { discoveryErrors } from './errors.js'
import { normalizeInstance, type ServiceInstance } from './instance.js'

const serviceAccount = '/var/run/secrets/kubernetes.io/serviceaccount'

/** Options of {@link KubernetesRegistry}; in a pod every one has a default from the service account. */
export interface KubernetesRegistryOptions {
  /** The API server. Default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. */
  apiServer?: string
  /** The bearer token, or a function that reads it (service account tokens rotate). Default: read from the service account at each request. */
  token?: string | (() => string)
  /** The CA that signed the API server's certificate (PEM). Default: the service account's ca.crt. */
  ca?: string
  /** Default: the pod's namespace, from the service account. */
  namespace?: string
  /** How long a pause between attempts after an error, in milliseconds. Default 1 000. */
  retryDelay?: number
}

interface EndpointSlice {
  metadata: { name: string; resourceVersion?: string }
  addressType?: string
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null }; targetRef?: { name?: string }; nodeName?: string; zone?: string }[] | null
  ports?: { name?: string; port?: number; appProtocol?: string }[] | null
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: EndpointSlice & { code?: number; message?: string }
}

/**
 * Discovery from Kubernetes EndpointSlices, through the API server with the pod's service account
 * token: a list, then a watch from its resourceVersion; a watch that expires (410 Gone, as an
 * HTTP status or an ERROR event) is answered by listing again. Each ready endpoint is an
 * instance, its ports its addresses by port name; a terminating endpoint is draining.
 *
 * Kubernetes registers pods itself, by their readiness: `register`, `renew` and `deregister`
 * do nothing here, and the draining mark is the readiness probe turning 503 at shutdown, which
 * Plinth does at `shutdown-requested`.
 *
 * @example
 * const registry = new KubernetesRegistry() // in a pod: API server, token, CA and namespace from the environment
 * const watch = registry.watch('orders', (instances) => console.log(instances.map((i) => i.addresses.http)))
 */
export class KubernetesRegistry implements Registry {
  readonly kind = 'kubernetes'
  /** Leases are Kubernetes' business (pod readiness); nothing here expires. */
  readonly ttl = 30_000
  readonly #apiServer: string
  readonly #token: () => string
  readonly #ca: string | undefined
  readonly #namespace: string
  readonly #retryDelay: number
  readonly #watches = new Set<() => void>()
  #closed = false

  constructor(options: KubernetesRegistryOptions = {}) {
    const host = process.env.KUBERNETES_SERVICE_HOST
    const apiServer = options.apiServer ?? (host ? `https://${host.includes(':') ? `[${host}]` : host}:${process.env.KUBERNETES_SERVICE_PORT ?? '443'}` : undefined)
    if (apiServer === undefined) {
      throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_INVALID_OPTION', 'KubernetesRegistry: no apiServer given and KUBERNETES_SERVICE_HOST is not set (not running in a pod)', { details: { option: 'apiServer' } })
    }
    this.#apiServer = apiServer.replace(/\/$/, '')
    const token = options.token
    this.#token = typeof token === 'function' ? token : typeof token === 'string' ? () => token : () => readFileSync(`${serviceAccount}/token`, 'utf8').trim()
    this.#ca = options.ca ?? (this.#apiServer.startsWith('https:') && options.apiServer === undefined ? readFileSync(`${serviceAccount}/ca.crt`, 'utf8') : undefined)
    this.#namespace = options.namespace ?? readFileSync(`${serviceAccount}/namespace`, 'utf8').trim()
    this.#retryDelay = options.retryDelay ?? 1_000
  }

  register(_instance: ServiceInstance): Promise<void> {
    return this.#noop()
  }

  renew(_instance: ServiceInstance): Promise<void> {
    return this.#noop()
  }

  deregister(_service: string, _id: string): Promise<void> {
    return this.#noop()
  }

  async instances(service: string): Promise<ServiceInstance[]> {
    this.#open()
    const list = await this.#list(service)
    return instancesOf(service, list.items)
  }

  watch(service: string, listener: InstancesListener, onError?: (error: unknown) => void): Watch {
    this.#open()
    let stopped = false
    let abort = () => {}
    const stop = () => {
      stopped = true
      abort()
    }
    this.#watches.add(stop)
    const slices = new Map<string, EndpointSlice>()
    let last: string | undefined
    const deliver = () => {
      const list = instancesOf(service, [...slices.values()])
      const print = fingerprint(list)
      if (print === last || stopped) return
      last = print
      listener(list)
    }
    const run = async () => {
      let resourceVersion: string | undefined
      while (!stopped) {
        try {
          if (resourceVersion === undefined) {
            const list = await this.#list(service)
            slices.clear()
            for (const slice of list.items) slices.set(slice.metadata.name, slice)
            resourceVersion = list.metadata.resourceVersion
            deliver()
          }
          const outcome = await this.#watchFrom(service, resourceVersion!, (event) => {
            if (event.type === 'BOOKMARK') resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion
            else if (event.type === 'ADDED' || event.type === 'MODIFIED') slices.set(event.object.metadata.name, event.object)
            else if (event.type === 'DELETED') slices.delete(event.object.metadata.name)
            if (event.type !== 'ERROR' && event.type !== 'BOOKMARK') {
              resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion
              deliver()
            }
          }, (cancel) => (abort = cancel))
          // 410 Gone: the resourceVersion is older than the server keeps; list afresh.
          if (outcome === 'gone') resourceVersion = undefined
        } catch (error) {
          if (stopped) return
          onError?.(error)
          resourceVersion = undefined
          await new Promise((resolve) => setTimeout(resolve, this.#retryDelay).unref())
        }
      }
    }
    void run()
    return { close: () => (this.#watches.delete(stop), stop()) }
  }

  close(): Promise<void> {
    this.#closed = true
    for (const stop of this.#watches) stop()
    this.#watches.clear()
    return Promise.resolve()
  }

  #path(service: string, extra = ''): string {
    const selector = encodeURIComponent(`kubernetes.io/service-name=${service}`)
    return `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(this.#namespace)}/endpointslices?labelSelector=${selector}${extra}`
  }

  async #list(service: string): Promise<{ metadata: { resourceVersion?: string }; items: EndpointSlice[] }> {
    const path = this.#path(service)
    const response = await this.#get(path)
    const body = await text(response)
    if (response.statusCode !== 200) throw this.#rejected(response.statusCode ?? 0, path, body)
    return JSON.parse(body) as { metadata: { resourceVersion?: string }; items: EndpointSlice[] }
  }

  /** Streams watch events until the server ends the watch ('ended') or says it expired ('gone'). */
  async #watchFrom(service: string, resourceVersion: string, onEvent: (event: WatchEvent) => void, onCancel: (cancel: () => void) => void): Promise<'ended' | 'gone'> {
    const path = this.#path(service, `&watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`)
    const response = await this.#get(path)
    if (response.statusCode === 410) {
      await text(response)
      return 'gone'
    }
    if (response.statusCode !== 200) throw this.#rejected(response.statusCode ?? 0, path, await text(response))
    onCancel(() => response.destroy())
    return new Promise((resolve, reject) => {
      let buffer = ''
      let outcome: 'ended' | 'gone' = 'ended'
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        buffer += chunk
        let newline
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim()
          buffer = buffer.slice(newline + 1)
          if (line === '') continue
          const event = JSON.parse(line) as WatchEvent
          if (event.type === 'ERROR') {
            if (event.object.code === 410) outcome = 'gone'
            else return reject(this.#rejected(event.object.code ?? 500, path, event.object.message ?? line))
            response.destroy()
            return resolve(outcome)
          }
          onEvent(event)
        }
      })
      response.on('end', () => resolve(outcome))
      response.on('close', () => resolve(outcome))
      response.on('error', reject)
    })
  }

  #get(path: string): Promise<IncomingMessage> {
    const url = new URL(path, this.#apiServer)
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const outgoing = request(url, { method: 'GET', headers: { authorization: `Bearer ${this.#token()}`, accept: 'application/json' }, ...(this.#ca ? { ca: this.#ca } : {}) }, resolve)
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        reject(discoveryErrors.create('PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE', `the Kubernetes API server at ${this.#apiServer} did not answer GET ${url.pathname}${error.code ? ` (${error.code})` : `: ${error.message}`}`, { cause: error }))
      })
      outgoing.end()
    })
  }

  #rejected(status: number, path: string, body: string) {
    const why = status === 401 ? ' (the token is invalid or expired)' : status === 403 ? ' (the service account needs list and watch on endpointslices.discovery.k8s.io in this namespace)' : ''
    return discoveryErrors.create('PLINTH_ERR_DISCOVERY_REGISTRY_REJECTED', `the Kubernetes API server answered GET ${path.split('?')[0]} with ${status}${why}: ${body.slice(0, 300)}`, { details: { status } })
  }

  #noop(): Promise<void> {
    this.#open()
    return Promise.resolve()
  }

  #open(): void {
    if (this.#closed) throw discoveryErrors.create('PLINTH_ERR_DISCOVERY_CLOSED', 'the kubernetes registry is closed')
  }
}

/** Every endpoint of the service's slices as an instance: ports become addresses, conditions health. */
function instancesOf(service: string, slices: readonly EndpointSlice[]): ServiceInstance[] {
  const instances = new Map<string, ServiceInstance>()
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses[0]
      if (address === undefined) continue
      const host = address.includes(':') ? `[${address}]` : address
      const addresses: Record<string, string> = {}
      for (const port of slice.ports ?? []) {
        if (port.port === undefined) continue
        const scheme = port.appProtocol === 'grpc' || port.appProtocol === 'kubernetes.io/h2c' || port.name === 'grpc' ? 'grpc' : 'http'
        addresses[port.name || 'http'] = `${scheme}://${host}:${port.port}`
      }
      const conditions = endpoint.conditions ?? {}
      const terminating = conditions.terminating === true
      // ready is false while terminating; serving says whether a terminating pod still serves.
      const serving = terminating ? conditions.serving !== false : conditions.ready !== false
      const metadata: Record<string, string> = {}
      if (endpoint.nodeName) metadata.node = endpoint.nodeName
      if (endpoint.zone) metadata.zone = endpoint.zone
      const id = endpoint.targetRef?.name ?? address
      instances.set(id, normalizeInstance({ service, id, addresses, version: '', metadata, health: serving ? 'passing' : 'critical', draining: terminating, weight: 1 }))
    }
  }
  return sortInstances([...instances.values()])
}

function text(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => (body += chunk))
    response.on('end', () => resolve(body))
    response.on('error', reject)
  })
}
