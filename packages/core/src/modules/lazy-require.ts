import { createRequire } from 'node:module'

/**
 * A CommonJS dependency loaded synchronously on first use rather than at import: what most apps
 * never need (pino-pretty outside development terminals, semver without modules) then costs
 * them nothing at start-up, where each of these took 20-25 ms to load.
 *
 * `from` is where the package is resolved from: pass the caller's `import.meta.url`, so that a
 * package gets the dependency it declares; without it, from @plinth/core.
 *
 * @example
 * const semver = lazyRequire<typeof import('semver')>('semver', import.meta.url)
 * semver().satisfies('1.2.0', '^1.0.0')
 *
 * `plinth build` compiles the dependency into the bundle: it gives each call (`lazyRequire('id')`
 * or `lazyRequire('id', import.meta.url)`) a function that requires it there, still on first use.
 */
export function lazyRequire<T>(id: string, from: string | URL | (() => unknown) = import.meta.url): () => T {
  const load = typeof from === 'function' ? from : () => createRequire(from)(id)
  let loaded: T | undefined
  return () => (loaded ??= load() as T)
}
