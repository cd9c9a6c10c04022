/**
 * What one start of a bundle leaves for the next. A bundle's launcher (`plinth build`) keeps
 * small named texts beside the bundle, in `app.cjs.<name>.start` files, and `plinth build`
 * removes them with the rest of its output, so they never outlive the code that wrote them.
 * Components use them to skip at start work an earlier start of the same code has already done
 * and checked (the HTTP server, for one, records which route schemas compiled, and compiles
 * those on first use instead of at start). Outside a bundle there is no start cache.
 */
export interface StartCache {
  /** The text an earlier start of this bundle saved under `name`, or undefined. */
  read(name: string): string | undefined
  /**
   * Saves `text` under `name` for the next start of this bundle, replacing the file whole (a
   * start that reads it never sees half of it). A folder it cannot write to loses the text
   * silently: the next start does the work again, as this one did.
   */
  write(name: string, text: string): void
}

const key = Symbol.for('plinth.startCache')

/**
 * The start cache of the bundle this process runs from, or undefined when it does not run
 * from one (`node dist/main.js`, tests).
 *
 * @example
 * ```ts
 * const cache = startCache()
 * const known = new Set(cache?.read('schemas')?.split('\n'))
 * ```
 */
export function startCache(): StartCache | undefined {
  return (globalThis as Record<symbol, StartCache | undefined>)[key]
}
