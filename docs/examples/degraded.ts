import { PlinthError, component, createApp, optional } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'

const connectRedis = (): Promise<Map<string, string>> => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'))

// #region degraded
const cache = component('cache', {
  optional: true, // a failure to create or start degrades the app instead of aborting start-up
  create: () => new Map<string, string>(),
  start: async (map) => {
    for (const [key, value] of await connectRedis()) map.set(key, value)
  },
})

const prices = component('prices', {
  eager: true,
  deps: { cache: optional(cache) }, // undefined when the cache is unavailable
  create: ({ cache }) => ({ price: (sku: string) => cache?.get(sku) ?? 'computed' }),
})

export const app = createApp({ name: 'prices', components: [cache, prices] })
// #endregion

// #region required
const strictPrices = component('prices', {
  eager: true,
  deps: { cache }, // required: the cache's failure is this component's failure
  create: ({ cache }) => ({ price: (sku: string) => cache.get(sku) ?? 'computed' }),
})
export const strictApp = createApp({ name: 'prices', components: [cache, strictPrices] })
// #endregion

export async function main() {
  // #region state
  await using t = await startTestApp(app)
  const state = t.app.state // 'degraded'
  const degraded = t.started.degraded // ['cache']
  const cacheError = t.app.components().find((c) => c.name === 'cache')?.error // PLINTH_ERR_START_FAILED: ...
  const price = t.get(prices).price('tea') // 'computed'
  // #endregion

  const strict = await startTestApp(strictApp).then(
    () => 'started',
    (error: unknown) => (error instanceof PlinthError ? error.message : String(error)),
  )
  return { state, degraded, cacheError: String(cacheError), price, strict }
}
