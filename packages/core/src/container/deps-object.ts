/**
 * The deps object a factory or constructor receives, assembled by a generated function per set
 * of keys: `{ "db": v[s[0]], "log": v[s[1]] }`. A generated object literal gives V8 one fixed
 * shape per key set, as hand-written code would, where keyed stores one key at a time would go
 * through a megamorphic inline cache. Functions are cached by key list, so ten thousand
 * providers with the same keys compile one.
 */
export type Assemble = (values: readonly unknown[], slots: readonly number[]) => object

const EMPTY = Object.freeze({})
const assembleEmpty: Assemble = () => EMPTY
const assemblers = new Map<string, Assemble>()

/** The assembler of a deps object with these keys, in this order. */
export function assemblerFor(keys: readonly string[]): Assemble {
  if (keys.length === 0) return assembleEmpty
  const signature = keys.join('\u0000')
  let assemble = assemblers.get(signature)
  if (assemble === undefined) {
    const body = keys.map((key, i) => `${JSON.stringify(key)}: v[s[${i}]]`).join(', ')
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from JSON-quoted keys only, never from input
    assemble = new Function('v', 's', `return { ${body} }`) as Assemble
    assemblers.set(signature, assemble)
  }
  return assemble
}

const identity: number[] = []

/** [0, 1, ..., n - 1], shared: the slots of values given in key order. */
export function inOrder(n: number): readonly number[] {
  while (identity.length < n) identity.push(identity.length)
  return identity
}
