/**
 * Core's check of the bootstrap artifacts (models, assets, schemas the app and its modules
 * declare): each is in place under the data directory and its content has the declared sha256.
 * It reads only: a file whose size and modification time match what the bootstrap verified is
 * trusted as the bootstrap trusts it; any other is hashed. Nothing is fetched or rewritten.
 * An artifact not there yet, which start-up's bootstrap will fetch or copy, is a warning (a
 * deployment that has not started once); one whose local source is missing too, or whose
 * content differs from its declaration, fails.
 */
import { hashFile, localSource, safeUrl, verifiedIndex } from '../bootstrap/artifacts.js'
import type { RequirementSet } from '../bootstrap/bootstrap.js'
import { statOrUndefined } from '../bootstrap/directories.js'
import { destination, display, owner } from '../bootstrap/steps.js'
import { describe } from '../errors.js'
import type { PreflightCheck, PreflightContext, PreflightOutcome } from './check.js'

/** What the artifacts check reads of the app. */
export interface ArtifactCheckSettings {
  /** The app's and its registered modules' requirements; throws when the app's own are invalid. */
  readonly requirements: () => readonly RequirementSet[]
  /** Paths are printed relative to it. */
  readonly cwd: string
  /** Whether start-up runs the bootstrap phase (bootstrap.enabled), which fetches what is missing. */
  readonly bootstrapsAtStart?: boolean
}

/** What is wrong with one artifact: `missing` when only its file is not there yet. */
type Problem = { readonly text: string; readonly missing: boolean }

const FIX = 'run `plinth bootstrap` to fetch or copy the artifacts again and verify them'

async function problemOf(context: PreflightContext, settings: ArtifactCheckSettings, set: RequirementSet, spec: RequirementSet['requirements']['artifacts'][number], trusted: Awaited<ReturnType<ReturnType<typeof verifiedIndex>['get']>>): Promise<Problem | undefined> {
  const path = destination(context, spec.path)
  const shown = `${display(settings, path)} (declared by ${owner(set)}, from ${safeUrl(spec.source)})`
  const wrong = (text: string): Problem => ({ text, missing: false })
  const found = await statOrUndefined(path)
  if (!found) {
    const source = localSource(set, spec.source)
    return source !== undefined && (await statOrUndefined(source)) === undefined ? wrong(`${shown} is missing, and so is its source`) : { text: `${shown} is missing`, missing: true }
  }
  if (!found.isFile()) return wrong(`${shown} is not a file`)
  const known = trusted[path]
  if (known && known.sha256 === spec.sha256 && known.size === found.size && known.mtimeMs === found.mtimeMs) return undefined
  if (spec.size !== undefined && found.size !== spec.size) return wrong(`${shown} has ${found.size} bytes; ${spec.size} declared`)
  const actual = await hashFile(path, context.signal)
  return actual === spec.sha256 ? undefined : wrong(`${shown} has sha256 ${actual}; ${spec.sha256} expected`)
}

export function artifactChecks(settings: ArtifactCheckSettings): PreflightCheck[] {
  return [
    {
      category: 'artifacts',
      name: 'present, checksums verify',
      run: async (context): Promise<PreflightOutcome> => {
        let sets: readonly RequirementSet[]
        try {
          sets = settings.requirements()
        } catch (error) {
          return { status: 'fail', found: describe(error), fix: 'correct bootstrap.requirements in createApp (see `plinth check`)' }
        }
        const trusted = await verifiedIndex(context.dataDir).get()
        const seen = new Set<string>()
        const problems: Problem[] = []
        for (const set of sets) {
          for (const spec of set.requirements.artifacts) {
            const path = destination(context, spec.path)
            if (seen.has(path)) continue
            seen.add(path)
            const problem = await problemOf(context, settings, set, spec, trusted).catch((error: unknown): Problem => ({ text: `${display(settings, path)} cannot be read: ${describe(error)}`, missing: false }))
            if (problem) problems.push(problem)
          }
        }
        if (seen.size === 0) return { status: 'pass', found: 'no artifact declared' }
        if (problems.length === 0) return { status: 'pass', found: `${seen.size} artifact${seen.size === 1 ? '' : 's'} in place, checksums verified` }
        const found = `${problems.length} of ${seen.size} artifact${seen.size === 1 ? '' : 's'} not as declared: ${problems.map((p) => p.text).join('; ')}`
        // Not there yet is what a deployment looks like before its first start, whose bootstrap fetches them.
        if (settings.bootstrapsAtStart && problems.every((p) => p.missing)) {
          return { status: 'warn', found: `${found}; start-up's bootstrap fetches or copies them`, fix: 'run `plinth bootstrap` before the rollout, so that start-up does not wait for them and a source that cannot be reached fails now' }
        }
        return { status: 'fail', found, fix: FIX }
      },
    },
  ]
}
