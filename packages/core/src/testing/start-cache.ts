/**
 * A bundle's start cache kept in memory, for tests of components that read and write one (see
 * StartCache in build/start-cache.ts): a test plays one start after another in one process.
 */
import type { StartCache } from '../build/start-cache.js'

const key = Symbol.for('plinth.startCache')

/** The start cache {@link memoryStartCache} installed, with what it holds and a way to remove it. */
export interface MemoryStartCache extends StartCache, Disposable {
  /** The texts saved so far, by name; a test may also put a record there itself. */
  readonly texts: Map<string, string>
  /** Removes the cache: `startCache()` finds the one installed before it again, or none, as outside a bundle. */
  remove(): void
}

/**
 * Installs an in-memory start cache where `startCache()` finds it, as a bundle's launcher does,
 * until `remove()` (or the end of a `using` block).
 *
 * @example
 * using cache = memoryStartCache()
 * await startTestApp(createApp({ components: [httpServer(), routes] })) // records what it compiled
 * expect(cache.texts.get('route-schemas')).toBeDefined()
 */
export function memoryStartCache(): MemoryStartCache {
  const global = globalThis as Record<symbol, unknown>
  const previous = global[key]
  const texts = new Map<string, string>()
  const cache: MemoryStartCache = {
    texts,
    read: (name) => texts.get(name),
    write: (name, text) => void texts.set(name, text),
    remove: () => {
      if (global[key] !== cache) return
      if (previous === undefined) delete global[key]
      else global[key] = previous
    },
    [Symbol.dispose]: () => cache.remove(),
  }
  global[key] = cache
  return cache
}
