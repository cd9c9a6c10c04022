import type { Measurement } from './harness.js'

/** Prints rows as an aligned plain-text table (numbers right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

const significant = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 })
const fixed = (digits: number) => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

export const formatOps = (ops: number) => significant.format(ops)
export const formatMs = (ms: number) => (ms >= 100 ? fixed(0).format(ms) : ms >= 10 ? fixed(1).format(ms) : fixed(2).format(ms))
export const formatRatio = (ratio: number) => `${ratio >= 10 ? fixed(0).format(ratio) : fixed(2).format(ratio)}x`
export const formatPercent = (fraction: number) => `${fixed(1).format(fraction * 100)}%`

/**
 * The table of one measured row. "time vs X" is this contender's time per op divided by X's:
 * above 1.00x it is slower than X, below it is faster.
 */
export function opsTable(results: readonly Measurement[], against: readonly string[]): string {
  const base = (name: string) => results.find((r) => r.name === name)?.opsPerSecond
  const header = ['library', 'ops/s (CPU)', '±', 'ops/s (wall)', ...against.map((name) => `time vs ${name}`)]
  const rows = results.map((r) => {
    if (r.opsPerSecond === undefined) return [r.name, r.error ?? 'failed', '', '', ...against.map(() => '')]
    const ops = r.opsPerSecond
    return [
      r.name,
      formatOps(ops),
      formatPercent(r.spread),
      r.wallOpsPerSecond === undefined ? '' : formatOps(r.wallOpsPerSecond),
      ...against.map((name) => {
        const b = base(name)
        return b === undefined ? '' : formatRatio(b / ops)
      }),
    ]
  })
  return table(header, rows)
}

/** A row's title, underlined. */
export function heading(title: string): string {
  return `\n${title}\n${'='.repeat(title.length)}`
}
