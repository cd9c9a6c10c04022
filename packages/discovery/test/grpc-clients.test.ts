/** The gRPC channel factory against two real grpc-js servers serving grpc.health.v1. */
import { Server, ServerCredentials, credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { HealthImplementation, protoPath } from 'grpc-health-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MemoryRegistry, ServiceDiscovery, ServiceGrpcClients, discoveryErrors } from '@plinth/discovery'

type HealthClient = Client & { check(request: { service: string }, callback: (error: ServiceError | null, response?: { status: string }) => void): void }
const { grpc } = loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as { grpc: { health: { v1: { Health: new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient } } } }
const check = (client: HealthClient, service = '') =>
  new Promise<string>((resolve, reject) => client.check({ service }, (error, response) => (error ? reject(error) : resolve(response!.status))))

let servers: Server[]
let registry: MemoryRegistry
let discovery: ServiceDiscovery
let made: string[]

async function serve(id: string): Promise<Server> {
  const server = new Server()
  new HealthImplementation({ '': 'SERVING' }).addToServer(server)
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))))
  servers.push(server)
  await registry.register({ service: 'ledger', id, addresses: { grpc: `grpc://127.0.0.1:${port}` }, version: '1', metadata: {}, health: 'passing', draining: false, weight: 1 })
  return server
}

beforeEach(() => {
  servers = []
  made = []
  registry = new MemoryRegistry()
  discovery = new ServiceDiscovery({ registry, defaults: { healthCheck: false } })
})
afterEach(async () => {
  discovery.close()
  await registry.close()
  for (const server of servers) server.forceShutdown()
})

const factory = (target: string) => {
  made.push(target)
  return new grpc.health.v1.Health(target, credentials.createInsecure())
}

describe('ServiceGrpcClients', () => {
  it('keeps one client per instance and calls the instances in turn', async () => {
    await serve('g0')
    await serve('g1')
    const clients = new ServiceGrpcClients(discovery, 'ledger', factory)
    const seen: string[] = []
    for (let i = 0; i < 4; i++) seen.push(await clients.call(async (client, instance) => `${instance.id}:${await check(client)}`))
    expect(seen).toEqual(['g0:SERVING', 'g1:SERVING', 'g0:SERVING', 'g1:SERVING'])
    expect(made).toHaveLength(2)
    expect(made[0]).toMatch(/^127\.0\.0\.1:\d+$/)
    clients.close()
  })

  it('retries an idempotent call on another instance when one is UNAVAILABLE', async () => {
    const down = await serve('g0')
    await serve('g1')
    down.forceShutdown()
    const clients = new ServiceGrpcClients(discovery, 'ledger', factory)
    for (let i = 0; i < 4; i++) expect(await clients.call((client) => check(client), { idempotent: true })).toBe('SERVING')
    clients.close()
  })

  it('does not retry a call that is not idempotent, and passes the application error through untouched', async () => {
    const down = await serve('g0')
    await serve('g1')
    down.forceShutdown()
    const clients = new ServiceGrpcClients(discovery, 'ledger', factory)
    const error = await clients.call((client) => check(client)).catch((e: unknown) => e)
    expect((error as ServiceError).code).toBe(14) // UNAVAILABLE, from g0
    const notFound = await clients.call((client) => check(client, 'unknown.Service')).catch((e: unknown) => e)
    expect((notFound as ServiceError).code).toBe(5) // NOT_FOUND: the instance answered
    expect(discovery.breaker('ledger', 'g1').snapshot().failures).toBe(0)
    clients.close()
  })

  it('closes the channel of an instance that leaves', async () => {
    await serve('g0')
    const clients = new ServiceGrpcClients(discovery, 'ledger', factory)
    await clients.call((client) => check(client))
    await registry.deregister('ledger', 'g0')
    await new Promise((resolve) => setTimeout(resolve, 10))
    const error = await clients.call((client) => check(client)).catch((e: unknown) => e)
    expect(discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_NO_INSTANCE')).toBe(true)
    clients.close()
  })
})
