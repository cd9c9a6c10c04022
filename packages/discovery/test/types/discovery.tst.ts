import { expect, test } from 'tstyche'
import { createApp } from '@plinth/core'
import { ServiceGrpcClients, createBalancer, discovery, serviceClient, type ServiceDiscovery, type ServiceInstance } from '@plinth/discovery'

test('the HTTP client beside discovery compiles', () => {
  expect(createApp).type.toBeCallableWith({ name: 'ok', components: [discovery(), serviceClient()] })
})

test('the HTTP client without discovery is a compile error naming it', () => {
  expect(createApp({ name: 'missing', components: [serviceClient()] })).type.toRaiseError(`'missing providers': "discovery"`)
})

test('strategies are checked by name', () => {
  expect(createBalancer).type.toBeCallableWith('least-connections')
  expect(createBalancer).type.not.toBeCallableWith('fastest')
  expect(discovery).type.not.toBeCallableWith({ services: { orders: { strategy: 'fastest' } } })
})

test('a gRPC call resolves to what the call returns, with the client the factory made', () => {
  interface LedgerClient {
    close(): void
    balance(account: string): Promise<number>
  }
  const clients = new ServiceGrpcClients({} as ServiceDiscovery, 'ledger', (): LedgerClient => ({ close: () => {}, balance: () => Promise.resolve(1) }))
  expect(clients.call((client, instance: ServiceInstance) => client.balance(instance.id))).type.toBe<Promise<number>>()
})

test('a gRPC client factory must make something that can be closed', () => {
  expect(ServiceGrpcClients).type.not.toBeConstructableWith({} as ServiceDiscovery, 'ledger', () => ({ call: () => 1 }))
})
