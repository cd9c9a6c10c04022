/**
 * The "never started" line of a failed start. It stays short however many components waited
 * (an app whose server failed early leaves a dozen route and handler providers behind): each
 * name once with its count, and what it waited on only where that failed, because a component
 * left waiting on another that was itself abandoned adds nothing to the fix.
 */

/** A component that never started, and the components it waited on that failed. */
export interface NeverStarted {
  readonly name: string
  readonly waitsOn: readonly string[]
}

/**
 * `never started: api (waits on mailer)`, or with several, how many and each name once:
 * `never started (6): auth-guard, http-routes ×4, http-server`.
 *
 * @example
 * neverStartedLine([{ name: 'api', waitsOn: ['mailer'] }]) // 'never started: api (waits on mailer)'
 */
export function neverStartedLine(components: readonly NeverStarted[]): string {
  const named = new Map<string, { count: number; waitsOn: Set<string> }>()
  for (const { name, waitsOn } of components) {
    const entry = named.get(name) ?? { count: 0, waitsOn: new Set<string>() }
    entry.count++
    for (const dep of waitsOn) entry.waitsOn.add(dep)
    named.set(name, entry)
  }
  const list = [...named].map(([name, { count, waitsOn }]) => `${name}${count > 1 ? ` ×${count}` : ''}${waitsOn.size > 0 ? ` (waits on ${[...waitsOn].join(', ')})` : ''}`)
  return `never started${components.length > 1 ? ` (${components.length})` : ''}: ${list.join(', ')}`
}
