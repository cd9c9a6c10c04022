import { Container, component, optional, provide, token } from '@plinth/core'

// #region optional
interface Cache {
  get(key: string): string | undefined
}
const Cache = token('cache').of<Cache>()

const prices = component('prices', {
  deps: { cache: optional(Cache) }, // Cache | undefined
  create: ({ cache }) => ({
    price: (sku: string) => cache?.get(sku) ?? 'computed',
  }),
})
// #endregion

export async function main() {
  // #region use
  await using withoutCache = new Container([prices]) // valid: nothing provides Cache, and that is fine
  await using withCache = new Container([prices, provide(Cache, { value: { get: () => 'cached' } })])
  // #endregion
  return { without: withoutCache.get(prices).price('tea'), with: withCache.get(prices).price('tea') }
}
