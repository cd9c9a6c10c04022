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
 *
 * `plinth build` gives each call a `load` that requires the package from inside the bundle.
 */
export function lazyRequire<T>(id: string, load: () => unknown = () => require(id)): () => T {
  let loaded: T | undefined
  return () => (loaded ??= load() as T)
}
