import { describe, expect, test } from 'tstyche'
import { component } from '@plinth/core'
import { AppCache, createCache, type Cache } from '@plinth/cache'

interface User {
  id: string
  name: string
}

const cache = createCache()

describe('the cache', () => {
  test('getOrSet returns what its factory returns, including undefined for "not found"', async () => {
    expect(await cache.getOrSet('u', () => ({ id: '1', name: 'Ada' }))).type.toBe<{ id: string; name: string }>()
    expect(await cache.getOrSet('u', (): Promise<User | undefined> => Promise.resolve(undefined))).type.toBe<User | undefined>()
  })

  test('get is typed by its caller and may miss', async () => {
    expect(await cache.get<User>('u')).type.toBe<User | undefined>()
  })

  test('durations are numbers, tags strings', () => {
    expect(cache.set('u', 1, { ttl: '5s' })).type.toRaiseError()
    expect(cache.set('u', 1, { tags: [1] })).type.toRaiseError()
  })

  test('AppCache resolves to a Cache', () => {
    component('users', {
      deps: { cache: AppCache },
      create: ({ cache }) => {
        expect(cache).type.toBe<Cache>()
        return cache.namespace('users')
      },
    })
  })
})
