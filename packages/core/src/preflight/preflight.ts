/**
 * Assembles a preflight run for an app: builds a container of its own from the app's providers
 * (nothing is started, the running app's instances are untouched), gathers the checks of the
 * graph, of every registered contributor and of core, runs them, then closes what they opened.
 */
import { Container, type ContainerOptions } from '../container/container.js'
import { originalProvider, provide, type AnyProvider, type Registration } from '../container/provider.js'
import { token, type AnyToken, type ValueOf } from '../container/token.js'
import { declaredCheck, PreflightChecks, preflightContributors, PREFLIGHT_CATEGORIES, type PreflightCheck, type PreflightSetup } from './check.js'
import { artifactChecks, type ArtifactCheckSettings } from './artifacts.js'
import { environmentChecks, monitoringChecks, type CoreCheckSettings } from './environment.js'
import { failureOf, runChecks, type PreflightReport } from './runner.js'
import { systemChecks, type SystemThresholds } from './system.js'
import { PlinthError } from '../errors.js'

/** The app's preflight settings (createApp's `preflight` option). */
export interface PreflightSettings extends SystemThresholds {
  /**
   * At start: 'off' (the default), 'warn' (run in the background and log every warning and
   * failure; start-up does not wait), or 'refuse' (run before any component starts; a failure
   * aborts start-up with PLINTH_ERR_PREFLIGHT_FAILED).
   */
  readonly atStart?: 'off' | 'warn' | 'refuse'
  /** Environment variables that must be set where the app runs. */
  readonly requiredEnv?: readonly string[]
  /** The environments the app knows. Default development, test, staging, production. */
  readonly environments?: readonly string[]
  /** Deadline of each check in milliseconds. Default 5 000. */
  readonly timeout?: number
}

/** Options of one run: `app.preflight(options)`, `plinth validate`. */
export interface PreflightOptions {
  /** Run as this environment (sets APP_ENV): `plinth validate --env production`. */
  appEnv?: string
  env?: NodeJS.ProcessEnv
  argv?: string[]
  cwd?: string
  /** Only these categories. */
  only?: string | readonly string[]
  /** Deadline of each check in milliseconds; default the app's preflight.timeout, else 5 000. */
  timeout?: number
  /** Warnings count as failures in `report.ok`. */
  strict?: boolean
}

/** What the app hands over for a run. */
export interface PreflightInput {
  readonly setup: PreflightSetup
  readonly dataDir: string
  /** The app's providers and the kernel's. */
  readonly kernelProviders: readonly AnyProvider[]
  readonly contextual: ContainerOptions['contextual']
  readonly core: Omit<CoreCheckSettings, 'providers' | 'environments' | 'requiredEnv'>
  readonly settings: PreflightSettings
  /** The bootstrap artifacts of the app and its modules, for the artifacts check. */
  readonly artifacts?: ArtifactCheckSettings
}

const standardEnvironments = ['development', 'test', 'staging', 'production']

/** A check that only reports a failure found while assembling the run. */
function failed(category: string, name: string, error: unknown): PreflightCheck {
  return { category, name, run: () => failureOf(error) }
}

/** The graph's checks: each provider under a token of its own, so that one whose dependencies fail does not hide the others. */
function graphChecks(providers: readonly AnyProvider[]) {
  const own: AnyProvider[] = []
  const wrapped: { token: AnyToken; provider: AnyProvider }[] = []
  for (const provider of providers) {
    if (provider.provides.id !== PreflightChecks.id) {
      own.push(provider)
      continue
    }
    const reg = provider as unknown as Registration<unknown>
    const single = token(`preflight-check-${wrapped.length + 1}`).of<PreflightCheck | readonly PreflightCheck[]>()
    wrapped.push({ token: single, provider })
    own.push(provide(single, { deps: reg.deps, create: reg.create }))
  }
  return { providers: own, wrapped }
}

/** Runs every check that applies to the app and reports them all. */
export async function runPreflight(input: PreflightInput, options: PreflightOptions): Promise<PreflightReport> {
  const { setup } = input
  const only = options.only === undefined ? undefined : new Set(typeof options.only === 'string' ? [options.only] : options.only)
  const { providers, wrapped } = graphChecks([...setup.providers, ...input.kernelProviders])
  let container: Container | undefined
  const checks: PreflightCheck[] = []
  try {
    container = new Container(providers, input.contextual ? { contextual: input.contextual } : {})
  } catch (error) {
    checks.push(failed('environment', 'dependency graph valid', error))
  }
  const built = await Promise.all(
    wrapped.map(async ({ token: single, provider }) => {
      const named = declaredCheck(originalProvider(provider)) ?? { category: 'environment', name: `check declared at ${String((provider as unknown as Registration).site)}` }
      if (!container) return []
      try {
        const value = await container.resolve(single)
        return Array.isArray(value) ? (value as PreflightCheck[]) : [value as PreflightCheck]
      } catch (error) {
        return [failed(named.category, named.name, error)]
      }
    }),
  )
  checks.push(...built.flat())
  for (const contributor of preflightContributors()) {
    try {
      checks.push(...contributor(setup))
    } catch (error) {
      checks.push(failed('environment', 'checks of a package', error))
    }
  }
  const core: CoreCheckSettings = {
    ...input.core,
    providers: setup.providers,
    environments: input.settings.environments ?? standardEnvironments,
    requiredEnv: input.settings.requiredEnv ?? [],
  }
  checks.push(...environmentChecks(core), ...monitoringChecks(core), ...systemChecks(input.settings), ...(input.artifacts ? artifactChecks(input.artifacts) : []))
  const selected = only ? checks.filter((check) => only.has(check.category)) : checks

  const cleanups: (() => unknown)[] = []
  const resolve = <Tk extends AnyToken>(target: Tk): Promise<ValueOf<Tk>> => {
    if (!container) return Promise.reject(new PlinthError('PLINTH_ERR_INVALID_GRAPH', 'the dependency graph is invalid; run `plinth check`'))
    return container.resolve(target)
  }
  try {
    return await runChecks(
      selected,
      {
        appName: setup.appName,
        appEnv: setup.appEnv,
        production: setup.production,
        env: setup.env,
        config: setup.config,
        dataDir: input.dataDir,
        resolve,
        onCleanup: (cleanup) => cleanups.push(cleanup),
      },
      { timeout: options.timeout ?? input.settings.timeout, strict: options.strict ?? false },
    )
  } finally {
    // Connections a check opened are closed even when the check timed out; a cleanup that
    // hangs does not hold the report.
    await Promise.all(cleanups.map((cleanup) => Promise.race([Promise.resolve().then(cleanup).catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())])))
    await container?.dispose().catch(() => undefined)
  }
}

/** The categories a run knows: the standard ones and any a check declares. */
export function knownCategories(extra: readonly string[] = []): string[] {
  return [...new Set([...PREFLIGHT_CATEGORIES, ...extra])]
}
