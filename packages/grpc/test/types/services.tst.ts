import { expect, test } from 'tstyche'
import { component, createApp } from '@plinth/core'
import { grpcServer, grpcService, type GrpcImplementation } from '@plinth/grpc'

const GreeterImpl = component('greeter-impl', { lifetime: 'scoped', create: (): GrpcImplementation => ({ SayHello: () => ({ message: 'hi' }) }) })
const greeter = grpcService({ proto: 'greeter.proto', service: 'greet.v1.Greeter', implementation: GreeterImpl })

test('a service whose implementation is provided compiles', () => {
  expect(createApp).type.toBeCallableWith({ name: 'ok', components: [grpcServer(), GreeterImpl, greeter] })
})

test('a service whose implementation is missing is a compile error naming it', () => {
  expect(createApp({ name: 'missing', components: [grpcServer(), greeter] })).type.toRaiseError(`'missing providers': "greeter-impl"`)
})

test('an implementation must be an object of methods', () => {
  const wrong = component('wrong', { create: () => 42 })
  expect(grpcService).type.not.toBeCallableWith({ proto: 'x.proto', service: 'x.X', implementation: wrong })
})
