import { objectClass, type ObjectClass } from '../classes.js'
import type { GraphShape } from '../graphs.js'
import { sync, type Library } from './library.js'

/**
 * The same Plinth-shaped classes wired by hand: the code one would write in a composition root
 * without a container. It is generated from the graph (the graphs are data), and is the code a
 * person would type: one factory function per transient class, one `const` per singleton.
 */
const depsLiteral = (deps: readonly number[], value: (d: number) => string) => `{ ${deps.map((d, k) => `d${k}: ${value(d)}`).join(', ')} }`

const classes = (shape: GraphShape): ObjectClass[] => shape.deps.map((deps) => objectClass(deps.length))

/** `function t2() { return new C2({ d0: t1(), d1: t0() }) }` for each node; returns the root's. */
export function handTransient(shape: GraphShape): () => object {
  const lines = shape.deps.map((deps, i) => `function t${i}() { return new C${i}(${depsLiteral(deps, (d) => `t${d}()`)}) }`)
  const source = `const [${shape.deps.map((_, i) => `C${i}`).join(', ')}] = C\n${lines.join('\n')}\nreturn t${shape.root}`
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- source generated from node indexes only
  return new Function('C', source)(classes(shape)) as () => object
}

/** `const s2 = new C2({ d0: s1, d1: s0 })` for each node in order; returns the function that does it all. */
export function handSingletons(shape: GraphShape): () => object {
  const lines = shape.deps.map((deps, i) => `const s${i} = new C${i}(${depsLiteral(deps, (d) => `s${d}`)})`)
  const source = `const [${shape.deps.map((_, i) => `C${i}`).join(', ')}] = C\nreturn function wire() {\n${lines.join('\n')}\nreturn s${shape.root}\n}`
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- source generated from node indexes only
  return new Function('C', source)(classes(shape)) as () => object
}

/** A deep chain by hand is a loop: nested calls 10,000 deep would overflow like a naive container. */
export function handChain(depth: number): () => object {
  const C = Array.from({ length: depth }, (_, i) => objectClass(i === 0 ? 0 : 1))
  return () => {
    let value = new C[0]!({})
    for (let i = 1; i < depth; i++) value = new C[i]!({ d0: value })
    return value
  }
}

const isChain = (shape: GraphShape) => shape.deps.every((deps, i) => deps.length === (i === 0 ? 0 : 1) && (i === 0 || deps[0] === i - 1))

export const hand: Library = {
  name: 'hand-wired',
  warmSingleton(shape) {
    // A built singleton by hand is a variable: the op reads it.
    const root = handSingletons(shape)()
    return Promise.resolve(sync(() => root))
  },
  transient(shape) {
    return Promise.resolve(sync(shape.deps.length > 1000 && isChain(shape) ? handChain(shape.deps.length) : handTransient(shape)))
  },
  app(shape) {
    return Promise.resolve(sync(handSingletons(shape)))
  },
}
