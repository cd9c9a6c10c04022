import { fileURLToPath } from 'node:url'
import { loadSync, type Options, type ServiceDefinition } from '@grpc/proto-loader'
import { describe, expect, it } from 'vitest'
import { defaultLoaderOptions } from '../src/server.js'
import { camelCase, importProtobuf, loadRoot, serviceDefinition, serviceNames } from '../src/protos.js'

const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url))
const kitchenProto = `${fixtures}/kitchen/v1/kitchen.proto`

const dish = {
  dish_name: 'soup',
  grams: '9007199254740993',
  calories: '18446744073709551615',
  heat: 'HEAT_HIGH',
  photo: Buffer.from([0, 1, 2, 255]),
  tags: ['hot', 'vegan'],
  stock: { leeks: 3, salt: 0 },
  bowl: 2,
  cooked_at: { seconds: '1700000000', nanos: 5 },
  note: { text: 'stir' },
}

// Option sets a service may pass (GrpcServiceSpec.loader), each over the server's defaults.
const optionSets: Record<string, Options> = {
  defaults: {},
  'camel-case fields, numbers for longs and enums, no defaults': { keepCase: false, longs: Number, enums: Number, defaults: false, oneofs: false },
  'bytes as base64, arrays and objects always set': { bytes: String, arrays: true, objects: true, defaults: false },
}

describe('service definitions from .proto files', () => {
  for (const [name, set] of Object.entries(optionSets)) {
    it(`match proto-loader's, method for method, byte for byte: ${name}`, async () => {
      const options = { ...defaultLoaderOptions, ...set, includeDirs: [fixtures] }
      const protobuf = await importProtobuf()
      const ours = serviceDefinition(protobuf, await loadRoot(protobuf, [kitchenProto], options), 'kitchen.v1.Kitchen', options)!
      const theirs = loadSync(kitchenProto, options)['kitchen.v1.Kitchen'] as ServiceDefinition
      expect(Object.keys(ours)).toEqual(Object.keys(theirs))
      for (const [method, expected] of Object.entries(theirs)) {
        const actual = ours[method]!
        const { path, requestStream, responseStream, originalName } = expected
        expect({ path: actual.path, requestStream: actual.requestStream, responseStream: actual.responseStream, originalName: actual.originalName }).toEqual({ path, requestStream, responseStream, originalName })
        const message = method === 'GetHTTPMenu' ? {} : options.keepCase ? dish : { ...dish, dishName: dish.dish_name, cookedAt: dish.cooked_at }
        const bytes = actual.requestSerialize(message)
        expect(bytes).toEqual(expected.requestSerialize(message))
        expect(actual.requestDeserialize(bytes)).toEqual(expected.requestDeserialize(bytes))
        const reply = actual.responseSerialize(method === 'taste_all' ? {} : message)
        expect(reply).toEqual(expected.responseSerialize(method === 'taste_all' ? {} : message))
        expect(actual.responseDeserialize(reply)).toEqual(expected.responseDeserialize(reply))
      }
      expect(() => ours.Cook!.requestSerialize([dish])).toThrow('Failed to serialize message: expected object with Dish structure, got array instead')
    })
  }

  it('name the services there are, and find none under a name that is not a service', async () => {
    const protobuf = await importProtobuf()
    const root = await loadRoot(protobuf, [kitchenProto], { ...defaultLoaderOptions, includeDirs: [fixtures] })
    expect(serviceNames(protobuf, root)).toEqual(['kitchen.v1.Kitchen'])
    expect(serviceDefinition(protobuf, root, 'kitchen.v1.Dish', defaultLoaderOptions)).toBeUndefined()
    expect(serviceDefinition(protobuf, root, 'kitchen.v2.Kitchen', defaultLoaderOptions)).toBeUndefined()
  })

  it('fail with the import they cannot find when the include folder is missing', async () => {
    const protobuf = await importProtobuf()
    await expect(loadRoot(protobuf, [kitchenProto], defaultLoaderOptions)).rejects.toThrow(/kitchen\/v1\/types\.proto/)
  })

  it("camel-case method names as lodash does for proto-loader", () => {
    const names = { SayHello: 'sayHello', GetHTTPMenu: 'getHttpMenu', taste_all: 'tasteAll', V2Serve: 'v2Serve', XMLHttpRequest: 'xmlHttpRequest', ABC: 'abc', Get2FACode: 'get2FaCode', a1b2: 'a1B2' }
    expect(Object.fromEntries(Object.keys(names).map((name) => [name, camelCase(name)]))).toEqual(names)
  })
})
