/**
 * A small Consul agent, written from Consul's HTTP API documentation, for the tests: agent
 * service register/deregister with a TTL check, check pass, and health/service/<name> with
 * ?passing and blocking queries (index, wait, X-Consul-Index). A TTL check that is not passed in
 * time turns critical, as Consul's does.
 *
 * https://developer.hashicorp.com/consul/api-docs/agent/service
 * https://developer.hashicorp.com/consul/api-docs/agent/check#ttl-check-pass
 * https://developer.hashicorp.com/consul/api-docs/health#list-service-instances-for-service
 * https://developer.hashicorp.com/consul/api-docs/features/blocking
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Registered {
  definition: { ID: string; Name: string; Address: string; Port: number; Meta?: Record<string, string>; Tags?: string[]; Weights?: { Passing: number; Warning: number }; Check?: { CheckID: string; TTL: string; Status?: string } }
  check: { id: string; ttl: number; status: string; passedAt: number }
}

export interface FakeConsul {
  readonly url: string
  /** Every request, `METHOD path?query`. */
  readonly requests: string[]
  /** Answer without X-Consul-Index, as a proxy that strips headers would. */
  omitIndex: boolean
  /** Require this ACL token. */
  token: string | undefined
  close(): Promise<void>
}

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)
  if (!match) throw new Error(`invalid duration ${text}`)
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h']
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of request) text += String(chunk)
  return text
}

export async function startFakeConsul(): Promise<FakeConsul> {
  const services = new Map<string, Registered>()
  let index = 1
  const waiters = new Set<() => void>()
  const bump = () => {
    index++
    for (const wake of waiters) wake()
  }
  // TTL checks: critical once their TTL passes without a pass.
  const sweeper = setInterval(() => {
    for (const entry of services.values()) {
      if (entry.check.status !== 'critical' && Date.now() - entry.check.passedAt > entry.check.ttl) {
        entry.check.status = 'critical'
        bump()
      }
    }
  }, 20)

  const list = (name: string, passing: boolean) =>
    [...services.values()]
      .filter((entry) => entry.definition.Name === name && (!passing || entry.check.status === 'passing'))
      .map((entry) => ({
        Node: { Node: 'agent-one', Address: '127.0.0.1' },
        Service: { ID: entry.definition.ID, Service: entry.definition.Name, Address: entry.definition.Address, Port: entry.definition.Port, Tags: entry.definition.Tags ?? [], Meta: entry.definition.Meta ?? {}, Weights: entry.definition.Weights ?? { Passing: 1, Warning: 1 } },
        Checks: [{ CheckID: entry.check.id, Status: entry.check.status }],
      }))

  const fake: FakeConsul = {
    url: '',
    requests: [],
    omitIndex: false,
    token: undefined,
    close: () =>
      new Promise((resolve) => {
        clearInterval(sweeper)
        for (const wake of waiters) wake()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://consul')
      fake.requests.push(`${request.method} ${url.pathname}${url.search}`)
      if (fake.token !== undefined && request.headers['x-consul-token'] !== fake.token) {
        return void response.writeHead(403).end('ACL not found')
      }
      const reply = (status: number, body?: unknown) => {
        if (!fake.omitIndex) response.setHeader('X-Consul-Index', String(index))
        response.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? '' : JSON.stringify(body))
      }
      if (request.method === 'PUT' && url.pathname === '/v1/agent/service/register') {
        const definition = JSON.parse(await bodyOf(request)) as Registered['definition']
        if (!definition.Name || !definition.ID) return void response.writeHead(400).end('Missing service name')
        const check = definition.Check
        services.set(definition.ID, {
          definition,
          check: { id: check?.CheckID ?? `service:${definition.ID}`, ttl: check ? parseDuration(check.TTL) : Infinity, status: check?.Status ?? 'critical', passedAt: Date.now() },
        })
        bump()
        return reply(200)
      }
      const pass = /^\/v1\/agent\/check\/pass\/(.+)$/.exec(url.pathname)
      if (request.method === 'PUT' && pass) {
        const entry = [...services.values()].find((e) => e.check.id === decodeURIComponent(pass[1]!))
        if (!entry) return void response.writeHead(404).end(`Unknown check ID "${pass[1]}"`)
        entry.check.passedAt = Date.now()
        if (entry.check.status !== 'passing') {
          entry.check.status = 'passing'
          bump()
        }
        return reply(200)
      }
      const deregister = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(url.pathname)
      if (request.method === 'PUT' && deregister) {
        if (!services.delete(decodeURIComponent(deregister[1]!))) return void response.writeHead(404).end('Unknown service ID')
        bump()
        return reply(200)
      }
      const health = /^\/v1\/health\/service\/(.+)$/.exec(url.pathname)
      if (request.method === 'GET' && health) {
        const name = decodeURIComponent(health[1]!)
        const passing = url.searchParams.has('passing')
        const wanted = Number(url.searchParams.get('index') ?? '0')
        // A blocking query: hold the answer until the index moves past the one given, or wait passes.
        if (wanted > 0 && wanted >= index) {
          const wait = Math.min(parseDuration(url.searchParams.get('wait') ?? '5m'), 600_000)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, wait)
            function done() {
              clearTimeout(timer)
              waiters.delete(done)
              resolve()
            }
            waiters.add(done)
            request.on('close', done)
          })
        }
        if (response.destroyed) return
        return reply(200, list(name, passing))
      }
      response.writeHead(404).end('not found')
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  Object.assign(fake, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  return fake
}
