/**
 * A small Kubernetes API server for the tests, written from the API documentation: list and
 * watch of discovery.k8s.io/v1 EndpointSlices in a namespace, filtered by label selector, with
 * resourceVersions, bookmarks-free watch streams (one JSON event per line), bearer-token
 * authentication, and expiry: a watch from a resourceVersion older than the server keeps is
 * answered 410 Gone, either as an ERROR event in the stream (what the API server does for a
 * watch it had started) or as the response status.
 *
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
 * https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Slice {
  metadata: { name: string; namespace: string; labels: Record<string, string>; resourceVersion?: string }
  addressType: 'IPv4' | 'IPv6' | 'FQDN'
  endpoints: { addresses: string[]; conditions: { ready?: boolean; serving?: boolean; terminating?: boolean }; targetRef?: { kind: 'Pod'; name: string }; nodeName?: string; zone?: string }[]
  ports: { name?: string; port: number; protocol: 'TCP'; appProtocol?: string }[]
}

export interface FakeKubernetes {
  readonly url: string
  readonly token: string
  readonly requests: string[]
  /** How an expired watch is answered. */
  goneAs: 'event' | 'status'
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', slice: Slice): void
  /** Forgets history: every resourceVersion before now is too old to watch from. */
  compact(): void
  /** Ends every open watch stream, as the API server does at its timeout. */
  endWatches(): void
  close(): Promise<void>
}

export async function startFakeKubernetes(): Promise<FakeKubernetes> {
  const token = 'service-account-token'
  let resourceVersion = 100
  let oldestKept = 0
  const history: { rv: number; type: string; object: Slice }[] = []
  const slices = new Map<string, Slice>()
  const watchers = new Set<{ namespace: string; service: string; response: ServerResponse }>()
  const matches = (slice: Slice, namespace: string, service: string) => slice.metadata.namespace === namespace && slice.metadata.labels['kubernetes.io/service-name'] === service

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://kubernetes')
    fake.requests.push(`${url.pathname}${url.search}`)
    if (request.headers.authorization !== `Bearer ${token}`) {
      return void response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }))
    }
    const path = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(url.pathname)
    const selector = /^kubernetes\.io\/service-name=(.+)$/.exec(url.searchParams.get('labelSelector') ?? '')
    if (!path || !selector) return void response.writeHead(404).end()
    const namespace = decodeURIComponent(path[1]!)
    const service = selector[1]!
    if (url.searchParams.get('watch') !== '1') {
      const items = [...slices.values()].filter((s) => matches(s, namespace, service))
      return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: String(resourceVersion) }, items }))
    }
    const from = Number(url.searchParams.get('resourceVersion'))
    if (from < oldestKept) {
      const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${oldestKept})`, reason: 'Expired', code: 410 }
      if (fake.goneAs === 'status') return void response.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify(status))
      response.writeHead(200, { 'content-type': 'application/json' })
      return void response.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`)
    }
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    for (const event of history) if (event.rv > from && matches(event.object, namespace, service)) response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`)
    const watcher = { namespace, service, response }
    watchers.add(watcher)
    request.on('close', () => watchers.delete(watcher))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

  const fake: FakeKubernetes = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    requests: [],
    goneAs: 'event',
    apply: (type, slice) => {
      const object = structuredClone({ ...slice, metadata: { ...slice.metadata, resourceVersion: String(++resourceVersion) } })
      if (type === 'DELETED') slices.delete(slice.metadata.name)
      else slices.set(slice.metadata.name, object)
      history.push({ rv: resourceVersion, type, object })
      for (const watcher of watchers) if (matches(object, watcher.namespace, watcher.service)) watcher.response.write(`${JSON.stringify({ type, object })}\n`)
    },
    compact: () => {
      oldestKept = resourceVersion + 1
      history.length = 0
    },
    endWatches: () => {
      for (const watcher of watchers) watcher.response.end()
      watchers.clear()
    },
    close: () =>
      new Promise((resolve) => {
        fake.endWatches()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return fake
}

/** An EndpointSlice of `service` with one endpoint per pod given. */
export function sliceOf(service: string, name: string, pods: { name: string; ip: string; ready?: boolean; terminating?: boolean; serving?: boolean }[]): Slice {
  return {
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: pods.map((pod) => ({
      addresses: [pod.ip],
      conditions: { ready: pod.ready ?? true, serving: pod.serving ?? pod.ready ?? true, terminating: pod.terminating ?? false },
      targetRef: { kind: 'Pod', name: pod.name },
      nodeName: 'node-a',
      zone: 'eu-west-1a',
    })),
    ports: [
      { name: 'http', port: 8000, protocol: 'TCP' },
      { name: 'grpc', port: 50051, protocol: 'TCP', appProtocol: 'grpc' },
    ],
  }
}
