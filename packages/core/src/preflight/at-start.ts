/**
 * The preflight at start-up: 'refuse' waits for it and aborts the start on a failure, 'warn'
 * logs what it finds without holding the start.
 */
import { PlinthError } from '../errors.js'
import type { Logger } from '../logging/logger.js'
import { formatPreflight } from './report.js'
import type { PreflightReport } from './runner.js'

function logResults(report: PreflightReport, log: Logger): void {
  for (const r of report.results) {
    if (r.status !== 'pass') log[r.status === 'fail' ? 'error' : 'warn']({ category: r.category, check: r.name, found: r.found, fix: r.fix }, `preflight ${r.status}: ${r.category}/${r.name}: ${r.found}`)
  }
  log.info({ counts: report.counts }, `preflight: ${report.counts.pass} passed, ${report.counts.warn} warnings, ${report.counts.fail} failed`)
}

/**
 * Applies the start-up mode to a preflight run: rejects with PLINTH_ERR_PREFLIGHT_FAILED when
 * `refuse` finds a failure; with `warn`, returns at once and logs the results when they come.
 *
 * @example
 * await preflightAtStart('refuse', app.preflight(), log, 'orders')
 */
export async function preflightAtStart(mode: 'warn' | 'refuse', run: Promise<PreflightReport>, log: Logger, appName: string): Promise<void> {
  if (mode === 'warn') {
    run.then(
      (report) => logResults(report, log),
      (error: unknown) => log.error({ err: error }, 'preflight could not run'),
    )
    return
  }
  const report = await run
  logResults(report, log)
  const failures = report.results.filter((r) => r.status === 'fail')
  if (failures.length > 0) {
    throw new PlinthError('PLINTH_ERR_PREFLIGHT_FAILED', `the start-up preflight of "${appName}" found ${failures.length} failure(s):\n${formatPreflight({ ...report, results: failures })}`, {
      details: { results: failures },
    })
  }
}
