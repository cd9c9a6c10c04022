import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * A CommonJS dependency loaded synchronously on first use rather than at import: what most apps
 * never need (pino-pretty outside development terminals, semver without modules) then costs
 * them nothing at start-up, where each of these took 20-25 ms to load.
 *
 * @example
 * const semver = lazyRequire<typeof import('semver')>('semver')
 * semver().satisfies('1.2.0', '^1.0.0')
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined
  return () => (loaded ??= require(id) as T)
}
