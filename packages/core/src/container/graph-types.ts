/**
 * The dependency graph's shapes: nodes, edges and problems. A leaf, so that building, ordering
 * and validating the graph can each live in a file of their own.
 */
import type { PlinthErrorCode } from '../errors.js'
import type { Lifetime, Registration } from './provider.js'
import type { AnyToken } from './token.js'

/** One provider in the dependency graph, with its runtime state. */
export interface Node {
  readonly index: number
  readonly reg: Registration
  readonly name: string
  readonly lifetime: Lifetime
  readonly edges: readonly Edge[]
  /** Built lazily: see plan.ts. */
  program: unknown
  instance: unknown
  state: 'unbuilt' | 'building' | 'built' | 'failed'
  error: unknown
  pending: Promise<unknown> | undefined
  /**
   * A singleton whose every dependency is a plain or optional edge to another singleton (or to
   * nothing), as most components are: it is built straight from its edges, without a program.
   */
  direct: boolean
  /** `[this node]`, shared by every single edge that leads to it. */
  alone: readonly Node[] | undefined
  /** Scratch for one walk of the graph at a time (see Container). */
  mark: number
}

export type EdgeKind = 'single' | 'multi' | 'optional' | 'accessor' | 'contextual'

export interface Edge {
  readonly key: string
  readonly kind: EdgeKind
  readonly token: AnyToken
  /** The providers the edge leads to: one for single and optional (none when absent), all for multi. */
  readonly targets: readonly Node[]
  /** For accessors: whether the target is a multi token. */
  readonly multi: boolean
}

/** One thing wrong with the graph, located where the user declared it. */
export interface GraphProblem {
  readonly code: PlinthErrorCode
  readonly message: string
  readonly token: string
  readonly module: string | undefined
  readonly site: string
}

/** A value computed per requesting component, such as its child logger. */
export type ContextualFactory = (requester: Node) => unknown

export interface Graph {
  readonly nodes: Node[]
  readonly single: Map<symbol, Node>
  readonly multi: Map<symbol, Node[]>
  readonly contextual: ReadonlyMap<symbol, ContextualFactory>
  /** Nodes in dependency order (dependencies first); nodes on a cycle are left out. */
  readonly order: Node[]
}

/** Where a node was declared, for messages: `module "users", src/users.ts:12`. */
export const where = (node: Node): string => `${node.reg.module ? `module "${node.reg.module}", ` : ''}${node.reg.site}`
