/**
 * The classes the graphs are made of. Every node of a graph is its own class (class-keyed
 * containers need one class per token), made by one of these factories. Each library gets the
 * constructor shape it is idiomatically used with:
 *
 * - Plinth and awilix (PROXY mode) pass one object of named dependencies: `constructor({ d0, d1 })`;
 * - typed-inject, inversify, tsyringe and NestJS pass positional arguments: `constructor(d0, d1)`.
 *
 * The hand-wired baseline uses the Plinth-shaped classes, so that "within 2x of hand-wired"
 * compares the container with the same objects built by hand. Instances keep their dependencies
 * in d0..d2 (or `deps` past three) so that a test can walk and count what a resolve built.
 */

export type DepsObject = Readonly<Record<string, unknown>>
export type ObjectClass = new (deps: DepsObject) => object
export type PositionalClass = new (...deps: any[]) => object

/** Plinth-shaped: one deps object whose keys are d0, d1, ... */
export function objectClass(arity: number): ObjectClass {
  switch (arity) {
    case 0:
      return class Leaf {
        constructor(_deps: DepsObject) {}
      }
    case 1:
      return class One {
        readonly d0: unknown
        constructor({ d0 }: DepsObject) {
          this.d0 = d0
        }
      }
    case 2:
      return class Two {
        readonly d0: unknown
        readonly d1: unknown
        constructor({ d0, d1 }: DepsObject) {
          this.d0 = d0
          this.d1 = d1
        }
      }
    case 3:
      return class Three {
        readonly d0: unknown
        readonly d1: unknown
        readonly d2: unknown
        constructor({ d0, d1, d2 }: DepsObject) {
          this.d0 = d0
          this.d1 = d1
          this.d2 = d2
        }
      }
    default:
      return class Many {
        readonly deps: unknown[]
        constructor(deps: DepsObject) {
          this.deps = Object.values(deps)
        }
      }
  }
}

/** Positional: `constructor(d0, d1, ...)`. */
export function positionalClass(arity: number): PositionalClass {
  switch (arity) {
    case 0:
      return class Leaf {}
    case 1:
      return class One {
        constructor(readonly d0: unknown) {}
      }
    case 2:
      return class Two {
        constructor(
          readonly d0: unknown,
          readonly d1: unknown,
        ) {}
      }
    case 3:
      return class Three {
        constructor(
          readonly d0: unknown,
          readonly d1: unknown,
          readonly d2: unknown,
        ) {}
      }
    default:
      return class Many {
        readonly deps: unknown[]
        constructor(...deps: unknown[]) {
          this.deps = deps
        }
      }
  }
}

/**
 * awilix in PROXY mode (its default) passes the cradle, a proxy that resolves a registration when
 * a property is read; `constructor({ n3, n7 })` reads n3 and n7. The names differ per node here,
 * so the class reads them by the names it was made with.
 */
export function cradleClass(names: readonly string[]): new (cradle: DepsObject) => object {
  const [n0 = '', n1 = '', n2 = ''] = names
  switch (names.length) {
    case 0:
      return class Leaf {
        constructor(_cradle: DepsObject) {}
      }
    case 1:
      return class One {
        readonly d0: unknown
        constructor(cradle: DepsObject) {
          this.d0 = cradle[n0]
        }
      }
    case 2:
      return class Two {
        readonly d0: unknown
        readonly d1: unknown
        constructor(cradle: DepsObject) {
          this.d0 = cradle[n0]
          this.d1 = cradle[n1]
        }
      }
    case 3:
      return class Three {
        readonly d0: unknown
        readonly d1: unknown
        readonly d2: unknown
        constructor(cradle: DepsObject) {
          this.d0 = cradle[n0]
          this.d1 = cradle[n1]
          this.d2 = cradle[n2]
        }
      }
    default:
      return class Many {
        readonly deps: unknown[]
        constructor(cradle: DepsObject) {
          this.deps = names.map((name) => cradle[name])
        }
      }
  }
}

/** Distinct objects reachable from `root` through d0..d2 and deps: what one resolve built. */
export function countInstances(root: unknown): number {
  const seen = new Set<object>()
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const value = stack.pop()
    if (value === null || typeof value !== 'object' || seen.has(value)) continue
    seen.add(value)
    const node = value as { d0?: unknown; d1?: unknown; d2?: unknown; deps?: unknown[] }
    stack.push(node.d0, node.d1, node.d2, ...(node.deps ?? []))
  }
  return seen.size
}

/** Token names shared by the string-keyed libraries: node i is "n<i>". */
export const nameOf = (index: number): string => `n${index}`
