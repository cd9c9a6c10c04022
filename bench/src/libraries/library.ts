import type { GraphShape } from '../graphs.js'

/** One measured operation: sync, or async when the library only resolves asynchronously. */
export interface Op {
  readonly fn: () => unknown
  readonly async: boolean
}

/**
 * One contender: how it builds the benchmark graphs. Classes and their decorators or provider
 * declarations are made while setting up (they are module-level code in an app); only container
 * work is inside the measured op.
 */
export interface Library {
  readonly name: string
  /** Row 1: every node a singleton, the root built once; the op resolves the root again. */
  warmSingleton(shape: GraphShape): Promise<Op>
  /** Rows 2 and 4: every node transient; the op resolves the root, a fresh tree each call. */
  transient(shape: GraphShape): Promise<Op>
  /** Row 3: every node a singleton; the op creates the container (or app) and resolves the root. */
  app(shape: GraphShape): Promise<Op>
}

export const sync = (fn: () => unknown): Op => ({ fn, async: false })
export const async = (fn: () => Promise<unknown>): Op => ({ fn, async: true })
