import { defineErrors } from '@plinth/core'

/**
 * The cache's error catalogue. Bad input (a key, namespace, TTL or value the cache cannot take)
 * is the caller's fault and says so with status 400; a factory that fails with nothing to serve
 * in its place passes its own error on.
 *
 * @example
 * if (cacheErrors.is(error, 'PLINTH_ERR_CACHE_INVALID_KEY')) reply.status(400)
 */
export const cacheErrors = defineErrors('@plinth/cache', {
  PLINTH_ERR_CACHE_INVALID_KEY: {
    title: 'Invalid cache key',
    hint: 'Use a non-empty string key of at most 512 characters.',
    status: 400,
  },
  PLINTH_ERR_CACHE_INVALID_NAMESPACE: {
    title: 'Invalid cache namespace',
    hint: 'Name a namespace with 1 to 64 letters, digits, ".", "_" or "-".',
    status: 400,
  },
  PLINTH_ERR_CACHE_INVALID_TTL: {
    title: 'Invalid cache duration',
    hint: 'Give durations (ttl, grace, negativeTtl, timeout) as finite, non-negative numbers of milliseconds.',
    status: 400,
  },
  PLINTH_ERR_CACHE_UNSERIALISABLE: {
    title: 'Value JSON cannot carry faithfully',
    hint: 'Cache plain JSON (objects, arrays, strings, finite numbers, booleans, null), or declare a codec for the namespace: cache.namespace("events", { codec }).',
    status: 400,
  },
  PLINTH_ERR_CACHE_INVALID_TAG: {
    title: 'Invalid cache tag',
    hint: 'Use non-empty string tags of at most 256 characters.',
    status: 400,
  },
  PLINTH_ERR_CACHE_INVALID_OPTIONS: {
    title: 'Invalid cache options',
    hint: 'Check the options against CacheOptions: sizes are positive integers, the URL is redis:// or rediss:// or memory://.',
  },
  PLINTH_ERR_CACHE_CLOSED: {
    title: 'Cache closed',
    hint: 'The cache was closed at shutdown; do not use it after its component stopped.',
  },
})
