/**
 * Runs preflight checks: all at once, each under its own deadline, so that one that hangs is a
 * failure with its cause while every other result is still reported. A check that throws is a
 * failure that says what went wrong (the error's message and hint, never a stack trace).
 */
import { PlinthError } from '../errors.js'
import { PREFLIGHT_CATEGORIES, type PreflightCheck, type PreflightContext, type PreflightOutcome, type PreflightStatus } from './check.js'

/** One line of the report: a check and what it found. */
export interface PreflightResult extends PreflightOutcome {
  readonly category: string
  readonly name: string
  /** Milliseconds the check took. */
  readonly duration: number
}

/** What a preflight run found: every result, in category order, and the counts. */
export interface PreflightReport {
  readonly app: string
  readonly appEnv: string
  readonly results: readonly PreflightResult[]
  readonly counts: Readonly<Record<PreflightStatus, number>>
  /** No failure (and with `strict`, no warning either). */
  readonly ok: boolean
  readonly duration: number
}

/** The default deadline of one check, in milliseconds. */
export const DEFAULT_CHECK_TIMEOUT = 5_000

type Base = Omit<PreflightContext, 'signal'>

function message(error: unknown): string {
  if (error instanceof PlinthError) return `${error.code}: ${error.message}`
  if (error instanceof Error) {
    // Node's network errors carry the code that says most (ECONNREFUSED, ENOTFOUND).
    const code = (error as { code?: unknown }).code
    const text = error.message || error.name
    return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text
  }
  return String(error)
}

/** A thrown error as a failure: what it says, and its hint as the fix. */
export function failureOf(error: unknown, fix?: string): PreflightOutcome {
  // One line per table row: a multi-line message (a list of problems) is joined.
  const found = message(error).split('\n').map((line) => line.trim().replace(/^- /, '')).filter(Boolean).join('; ').replace(/:; /g, ': ')
  return { status: 'fail', found, fix: fix ?? (error instanceof PlinthError ? error.hint : 'read what was found; fix the setting or the service it names') }
}

function checked(outcome: PreflightOutcome, check: PreflightCheck): PreflightOutcome {
  const valid = outcome && (outcome.status === 'pass' || outcome.status === 'warn' || outcome.status === 'fail') && typeof outcome.found === 'string'
  if (!valid) return { status: 'fail', found: `the check returned ${JSON.stringify(outcome)}`, fix: `make "${check.category}/${check.name}" return { status: 'pass' | 'warn' | 'fail', found, fix }` }
  if (outcome.status !== 'pass' && !outcome.fix) return { ...outcome, fix: 'see what was found' }
  return outcome
}

async function runOne(check: PreflightCheck, base: Base, timeout: number): Promise<PreflightResult> {
  const began = performance.now()
  const deadline = check.timeout ?? timeout
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<PreflightOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new PlinthError('PLINTH_ERR_PREFLIGHT_TIMEOUT', `"${check.category}/${check.name}" did not finish within ${deadline} ms`))
      resolve({
        status: 'fail',
        found: `no answer within ${deadline} ms`,
        fix: 'find why the service this check reaches hangs (address, firewall, overload), or raise --timeout',
      })
    }, deadline)
  })
  let outcome: PreflightOutcome
  try {
    const running = Promise.resolve().then(() => check.run({ ...base, signal: controller.signal }))
    outcome = await Promise.race([running.then((o) => checked(o, check), (error: unknown) => failureOf(error)), expired])
  } finally {
    clearTimeout(timer)
  }
  return { category: check.category, name: check.name, ...outcome, duration: performance.now() - began }
}

function categoryRank(category: string): number {
  const index = (PREFLIGHT_CATEGORIES as readonly string[]).indexOf(category)
  return index === -1 ? PREFLIGHT_CATEGORIES.length : index
}

/**
 * Runs the checks concurrently, each under its deadline, and reports every result in category
 * order (the checks of one category in the order given).
 *
 * @example
 * const report = await runChecks(checks, context, { timeout: 2_000 })
 * if (!report.ok) process.exitCode = 1
 */
export async function runChecks(
  checks: readonly PreflightCheck[],
  base: Base,
  options: { timeout?: number; strict?: boolean } = {},
): Promise<PreflightReport> {
  const began = performance.now()
  const timeout = options.timeout ?? DEFAULT_CHECK_TIMEOUT
  const results = await Promise.all(checks.map((check) => runOne(check, base, timeout)))
  const order = results.map((result, index) => ({ result, index }))
  order.sort((a, b) => categoryRank(a.result.category) - categoryRank(b.result.category) || a.index - b.index)
  const sorted = order.map((o) => o.result)
  const counts = { pass: 0, warn: 0, fail: 0 }
  for (const result of sorted) counts[result.status]++
  return {
    app: base.appName,
    appEnv: base.appEnv,
    results: sorted,
    counts,
    ok: counts.fail === 0 && (!options.strict || counts.warn === 0),
    duration: performance.now() - began,
  }
}
