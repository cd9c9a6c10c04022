/**
 * The preflight report as people read it: one table (category, check, result, what was found,
 * what to do) and a summary line. `--json` prints the report object itself.
 */
import type { PreflightReport } from './runner.js'

const marks = { pass: 'pass', warn: 'WARN', fail: 'FAIL' } as const

/**
 * The report as a table, one line per check, then the counts.
 *
 * @example
 * console.log(formatPreflight(await app.preflight({ appEnv: 'production' })))
 */
export function formatPreflight(report: PreflightReport): string {
  const rows = report.results.map((r) => [r.category, r.name, marks[r.status], r.found, r.status === 'pass' ? '' : (r.fix ?? '')])
  const header = ['CATEGORY', 'CHECK', 'RESULT', 'FOUND', 'WHAT TO DO']
  // The last column is not padded, so that a long hint does not widen every line.
  const widths = header.slice(0, -1).map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((row) => row[i]!.length))))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd()
  const { pass, warn, fail } = report.counts
  const verdict = fail > 0 ? 'not ready' : warn > 0 ? 'ready, with warnings' : 'ready'
  return [
    line(header),
    ...rows.map(line),
    '',
    `${report.app} (${report.appEnv}): ${verdict}: ${pass} passed, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed in ${Math.round(report.duration)} ms`,
  ].join('\n')
}
