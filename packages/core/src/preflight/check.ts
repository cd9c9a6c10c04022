/**
 * The contract of a preflight check: what `plinth validate`, `app.preflight()` and the start-up
 * preflight run. Checks come from two places, both public: providers of the `PreflightChecks`
 * token in the app's graph (`preflightCheck()`, for a user's module), and contributors a package
 * registers on import (`definePreflight()`), which look at the app's providers and return the
 * checks that apply. The runner knows nothing of what a check looks at.
 */
import type { AnyProvider } from '../container/provider.js'
import { provide, type MultiProvider } from '../container/provider.js'
import { token, type AnyToken, type DependencyMap, type ResolvedDeps, type ValueOf } from '../container/token.js'

/** The categories of a production validation, in the order the table lists them. */
export const PREFLIGHT_CATEGORIES = [
  'environment',
  'database',
  'cache',
  'secrets',
  'flags',
  'jobs',
  'websocket',
  'artifacts',
  'security',
  'performance',
  'monitoring',
  'external',
  'system',
] as const

/** One of the standard categories, or a category of the app's own. */
export type PreflightCategory = (typeof PREFLIGHT_CATEGORIES)[number] | (string & {})

/** pass: as it should be; warn: works, but not as production wants it; fail: will not work. */
export type PreflightStatus = 'pass' | 'warn' | 'fail'

/** What a check found, and for a warning or a failure, what to do about it. */
export interface PreflightOutcome {
  readonly status: PreflightStatus
  /** What was found, in a few words: `PostgreSQL 16 at db:5432, 12 ms`. */
  readonly found: string
  /** What to do: `set DATABASE_URL's password`; required for warn and fail. */
  readonly fix?: string
}

/** What a check runs with: the environment, the configuration and the app's components. */
export interface PreflightContext {
  readonly appName: string
  /** development, staging, production (or another the configuration allows). */
  readonly appEnv: string
  readonly production: boolean
  readonly env: NodeJS.ProcessEnv
  /** The loaded configuration's value; undefined when the app has none. */
  readonly config: unknown
  /** The absolute data directory (DATA_DIR, or the bootstrap option). */
  readonly dataDir: string
  /** Fires at the check's deadline: cancel the work in flight. */
  readonly signal: AbortSignal
  /**
   * Builds a component of the app without starting it, in a container of the preflight's own:
   * the running app's instances are never touched. Close what you open with `onCleanup`.
   */
  resolve<Tk extends AnyToken>(target: Tk): Promise<ValueOf<Tk>>
  /** Runs once every check has finished (or timed out): close connections opened for the check. */
  onCleanup(cleanup: () => unknown): void
}

/** A check: its category, its name within the category, and what it does. */
export interface PreflightCheck {
  readonly category: PreflightCategory
  readonly name: string
  /** Deadline in milliseconds; default the run's timeout (5 000). */
  readonly timeout?: number
  run(context: PreflightContext): PreflightOutcome | Promise<PreflightOutcome>
}

/** What a contributor sees of the app to decide which checks apply. */
export interface PreflightSetup {
  readonly appName: string
  readonly appEnv: string
  readonly production: boolean
  readonly env: NodeJS.ProcessEnv
  readonly config: unknown
  /** Every provider of the app (its own, its modules', the kernel's). */
  readonly providers: readonly AnyProvider[]
}

/** A package's source of checks: called once per run with the app's setup. */
export type PreflightContributor = (setup: PreflightSetup) => readonly PreflightCheck[]

/**
 * Checks of the app's graph: provide one (or a list) under this token and every run includes it.
 * `preflightCheck()` is the short way.
 */
export const PreflightChecks = token('preflight-checks').many<PreflightCheck | readonly PreflightCheck[]>()

/** Check name and category of the providers preflightCheck() made, for a report when their dependencies cannot be built. */
const declared = new WeakMap<AnyProvider, { category: string; name: string }>()

/** The category and name preflightCheck() gave a provider, if it made it. */
export function declaredCheck(provider: AnyProvider): { category: string; name: string } | undefined {
  return declared.get(provider)
}

/**
 * A check as a provider of the app's graph: its dependencies are built (not started) for the
 * run, and a failure to build them is reported as this check's failure.
 *
 * @example
 * const ledgerReachable = preflightCheck({
 *   category: 'external',
 *   name: 'ledger answers',
 *   deps: { ledger: LedgerClient },
 *   run: async ({ ledger }, { signal }) =>
 *     (await ledger.ping(signal)) ? { status: 'pass', found: 'ledger up' } : { status: 'fail', found: 'ledger down', fix: 'check LEDGER_URL' },
 * })
 * createApp({ name: 'billing', components: [ledgerClient, ledgerReachable] })
 */
export function preflightCheck<D extends DependencyMap = Record<never, never>>(check: {
  category: PreflightCategory
  name: string
  timeout?: number
  deps?: D
  run: (deps: ResolvedDeps<D>, context: PreflightContext) => PreflightOutcome | Promise<PreflightOutcome>
}): MultiProvider<PreflightCheck | readonly PreflightCheck[], 'preflight-checks', D> {
  const provider = provide(PreflightChecks, {
    deps: (check.deps ?? {}) as D,
    create: (deps: ResolvedDeps<D>): PreflightCheck => ({
      category: check.category,
      name: check.name,
      ...(check.timeout === undefined ? {} : { timeout: check.timeout }),
      run: (context) => check.run(deps, context),
    }),
  })
  declared.set(provider, { category: check.category, name: check.name })
  return provider
}

const contributors: PreflightContributor[] = []

/**
 * Registers a package's checks, on import (as a package registers its commands): the contributor
 * is called on every run and returns the checks that apply to the app, usually one set per
 * component of the package it finds among `setup.providers`.
 *
 * @example
 * definePreflight(({ providers }) =>
 *   providers.filter((p) => p.provides === Mailer).map(() => ({
 *     category: 'external',
 *     name: 'mail relay answers',
 *     run: async ({ resolve }) => ((await (await resolve(Mailer)).verify()) ? { status: 'pass', found: 'relay up' } : { status: 'fail', found: 'relay refused', fix: 'check SMTP_URL' }),
 *   })),
 * )
 */
export function definePreflight(contributor: PreflightContributor): void {
  contributors.push(contributor)
}

/** Every registered contributor, in registration order. */
export function preflightContributors(): readonly PreflightContributor[] {
  return contributors
}
