/**
 * Phase 1's decision: which modules register, in which order, and which are excluded and why.
 * A module is excluded when it could not be read, when a module it depends on is missing,
 * excluded or of a version outside the declared range, when it shares its id with another, or
 * when it is on a dependency cycle. Exclusion cascades to every module that depends on it.
 */
import { PlinthError } from '../errors.js'
import { lazyRequire } from './lazy-require.js'
import type { ModuleCandidate } from './discovery.js'
import type { CheckedModule } from './validation.js'

const semver = lazyRequire<typeof import('semver')>('semver')

export interface ModuleExclusion {
  readonly id: string
  readonly source: string
  readonly required: boolean
  /** One line saying why, for logs and the readiness details. */
  readonly reason: string
  readonly error: PlinthError
}

export interface ModuleResolution {
  /** Modules to register, dependencies before dependants. */
  readonly registered: readonly CheckedModule[]
  readonly excluded: readonly ModuleExclusion[]
}

/**
 * An error's message as a one-line reason shown beside the module it is about: without the
 * leading `module "id" (source)` the reader already sees, the listed problems joined by "; ".
 *
 * @example
 * reasonOf('module "a" (src/a.ts:3) failed to import: boom', 'a', 'src/a.ts:3') // 'failed to import: boom'
 */
export function reasonOf(message: string, id: string, source: string): string {
  const prefixes = [`module "${id}" (${source}) `, `a module (${source}) `]
  const prefix = prefixes.find((p) => message.startsWith(p))
  const text = prefix ? message.slice(prefix.length) : message
  return text.replace(/:\n\s+- /, ': ').replace(/\n\s+- /g, '; ').split('\n')[0] ?? text
}

/**
 * Orders the candidates by their dependencies and excludes those that cannot register.
 *
 * @example
 * const { registered, excluded } = resolveModules(await discoverModules({ dir: 'src/modules' }))
 * for (const x of excluded) console.warn(`${x.id} excluded: ${x.reason}`)
 */
export function resolveModules(candidates: readonly ModuleCandidate[]): ModuleResolution {
  const excluded = new Map<string, ModuleExclusion>()
  const exclude = (candidate: { id: string; source: string; required: boolean }, error: PlinthError, reason = reasonOf(error.message, candidate.id, candidate.source)) => {
    if (!excluded.has(candidate.id)) excluded.set(candidate.id, { id: candidate.id, source: candidate.source, required: candidate.required, reason, error })
  }

  const byId = new Map<string, ModuleCandidate[]>()
  for (const candidate of candidates) byId.set(candidate.id, [...(byId.get(candidate.id) ?? []), candidate])
  for (const [id, same] of byId) {
    if (same.length < 2) continue
    const sources = same.map((c) => c.source).join(' and ')
    const error = new PlinthError('PLINTH_ERR_DUPLICATE_MODULE', `two modules declare the id "${id}": ${sources}`, { details: { id, sources: same.map((c) => c.source) } })
    exclude({ id, source: sources, required: same.some((c) => c.required) }, error)
  }
  for (const candidate of candidates) if (candidate.error && !excluded.has(candidate.id)) exclude(candidate, candidate.error)

  // Insertion order is declaration order, which breaks ties in the dependency order.
  const remaining = new Map<string, { candidate: ModuleCandidate; checked: CheckedModule }>()
  for (const candidate of candidates) if (candidate.checked && !excluded.has(candidate.id)) remaining.set(candidate.id, { candidate, checked: candidate.checked })

  for (;;) {
    let changed = false
    for (const [id, { candidate, checked }] of remaining) {
      const error = dependencyProblem(checked, remaining, excluded)
      if (error) {
        exclude(candidate, error)
        remaining.delete(id)
        changed = true
      }
    }
    if (changed) continue
    const { order, cycle } = topologicalOrder(remaining)
    if (!cycle) return { registered: order, excluded: [...excluded.values()] }
    const path = [...cycle, cycle[0]].join(' -> ')
    for (const id of cycle) {
      const entry = remaining.get(id)!
      exclude(entry.candidate, new PlinthError('PLINTH_ERR_MODULE_DEPENDENCY', `module "${id}" (${entry.candidate.source}) is on a dependency cycle: ${path}`, {
        hint: 'Modules cannot depend on each other in a circle; move what both need into a module of its own.',
        details: { cycle },
      }))
      remaining.delete(id)
    }
  }
}

function dependencyProblem(
  checked: CheckedModule,
  remaining: ReadonlyMap<string, { checked: CheckedModule }>,
  excluded: ReadonlyMap<string, ModuleExclusion>,
): PlinthError | undefined {
  const { module, source } = checked
  for (const [dep, range] of Object.entries(module.dependsOn)) {
    const gone = excluded.get(dep)
    if (gone) {
      return new PlinthError('PLINTH_ERR_MODULE_DEPENDENCY', `module "${module.id}" (${source}) needs "${dep}" ${range}, which was excluded: ${gone.reason}`, {
        cause: gone.error,
        hint: `Fix module "${dep}" (${gone.source}); "${module.id}" comes back with it.`,
        details: { module: module.id, dependency: dep, range },
      })
    }
    const found = remaining.get(dep)
    if (!found) {
      return new PlinthError('PLINTH_ERR_MODULE_DEPENDENCY', `module "${module.id}" (${source}) needs "${dep}" ${range}, which no module provides`, {
        hint: `Add module "${dep}" to the app's modules (or its modules folder), or remove it from dependsOn in ${source}.`,
        details: { module: module.id, dependency: dep, range },
      })
    }
    if (!semver().satisfies(found.checked.module.version, range, { includePrerelease: true })) {
      return new PlinthError(
        'PLINTH_ERR_MODULE_DEPENDENCY',
        `module "${module.id}" (${source}) needs "${dep}" ${range}, but "${dep}" is ${found.checked.module.version} (${found.checked.source})`,
        {
          hint: `Upgrade "${dep}" to a version in ${range}, or widen the range in ${source}.`,
          details: { module: module.id, dependency: dep, range, version: found.checked.module.version },
        },
      )
    }
  }
  return undefined
}

/** Kahn's algorithm, taking the earliest-declared ready module each time; or one cycle when there is one. */
function topologicalOrder(nodes: ReadonlyMap<string, { checked: CheckedModule }>): { order: CheckedModule[]; cycle?: string[] } {
  const waiting = new Map<string, number>()
  const dependants = new Map<string, string[]>()
  for (const [id, { checked }] of nodes) {
    const deps = Object.keys(checked.module.dependsOn).filter((d) => nodes.has(d))
    waiting.set(id, deps.length)
    for (const dep of deps) dependants.set(dep, [...(dependants.get(dep) ?? []), id])
  }
  const ids = [...nodes.keys()]
  const done = new Set<string>()
  const order: CheckedModule[] = []
  for (;;) {
    const next = ids.find((id) => !done.has(id) && waiting.get(id) === 0)
    if (next === undefined) break
    done.add(next)
    order.push(nodes.get(next)!.checked)
    for (const dependant of dependants.get(next) ?? []) waiting.set(dependant, waiting.get(dependant)! - 1)
  }
  if (order.length === nodes.size) return { order }
  // Every module left waits on another left; walking first dependencies must revisit one.
  const left = ids.filter((id) => !done.has(id))
  const path: string[] = []
  let at = left[0]!
  while (!path.includes(at)) {
    path.push(at)
    at = Object.keys(nodes.get(at)!.checked.module.dependsOn).find((d) => nodes.has(d) && !done.has(d))!
  }
  return { order, cycle: path.slice(path.indexOf(at)) }
}
