/** The listeners of a store's appends, shared by every backend. */
import type { Appended, AppendListener, AppendOrigin } from './contract.js'

const local: AppendOrigin = Object.freeze({ local: true })

/**
 * A set of append listeners. A listener that throws is reported as a process warning and the
 * others still hear the append: the append has committed, so its caller must not see a failure.
 */
export class AppendListeners {
  readonly #listeners = new Set<AppendListener>()

  add(listener: AppendListener): () => void {
    // A wrapper, so that one function added twice is two listeners and each removal removes one.
    const entry: AppendListener = (appended, origin) => listener(appended, origin)
    this.#listeners.add(entry)
    return () => this.#listeners.delete(entry)
  }

  emit(appended: Appended, origin: AppendOrigin = local): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(appended, origin)
      } catch (error) {
        process.emitWarning(`a listener of appends to "${appended.stream}" threw: ${error instanceof Error ? error.message : String(error)}`, 'PlinthWarning')
      }
    }
  }

  clear(): void {
    this.#listeners.clear()
  }
}
