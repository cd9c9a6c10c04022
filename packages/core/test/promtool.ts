import { spawnSync } from 'node:child_process'

/** Whether Debian's `promtool` (package prometheus) is on the PATH. */
export const promtoolMissing = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error !== undefined

/**
 * Why a promtool test is skipped; undefined when it runs. With PLINTH_REQUIRE_SERVICES=1 a
 * missing promtool is a failure instead, as CI wants.
 */
export function promtoolSkipReason(): string | undefined {
  if (!promtoolMissing) return undefined
  if (process.env.PLINTH_REQUIRE_SERVICES === '1') throw new Error('promtool is required (PLINTH_REQUIRE_SERVICES=1) but not installed: apt-get install prometheus')
  return 'promtool not installed (apt-get install prometheus)'
}

/** Pipes an exposition through `promtool check metrics`; resolves to what it reported (empty when clean). */
export function promtoolCheck(exposition: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' })
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() }
}
