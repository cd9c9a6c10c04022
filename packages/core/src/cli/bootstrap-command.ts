/**
 * `plinth bootstrap`: runs the bootstrap phase on its own, for an operator preparing a host or
 * a deployment step; `--dry-run` prints the plan (create, fetch, copy, repair, skip) and writes
 * nothing.
 */
import type { BootstrapAction, BootstrapReport } from '../bootstrap/bootstrap.js'
import { ExitCode, defineCommand } from './cli.js'
import { isPlinthError } from '../errors.js'

const verbs = { create: 'create', fetch: 'fetch', copy: 'copy', repair: 'repair', skip: 'skip', run: 'run' } as const

/** One plan line: `create   directory  data/logs  (mode 0750) [module search]`. */
function formatAction(action: Pick<BootstrapAction, 'action' | 'subject' | 'target' | 'detail' | 'module'>): string {
  const module = action.module ? ` [module ${action.module}]` : ''
  const detail = action.detail ? `  (${action.detail.trim()})` : ''
  return `  ${verbs[action.action].padEnd(7)} ${action.subject.padEnd(9)} ${action.target}${detail}${module}`
}

function summary(report: BootstrapReport): string {
  const todo = report.actions.filter((a) => a.action !== 'skip')
  const skipped = report.actions.length - todo.length
  if (todo.length === 0) return `no bootstrap actions needed (${skipped} already in place in ${report.dataDir})`
  const counts = new Map<string, number>()
  for (const a of todo) counts.set(a.action, (counts.get(a.action) ?? 0) + 1)
  const parts = [...counts].map(([action, n]) => `${n} to ${action}`).join(', ')
  return report.dryRun
    ? `plan: ${parts}; ${skipped} already in place; nothing was written (dry run)`
    : `bootstrap done: ${todo.length} action${todo.length === 1 ? '' : 's'} (${parts.replaceAll(' to ', ' ')}); ${skipped} already in place`
}

defineCommand('bootstrap', {
  summary: 'prepare directories, config files, databases and artifacts; --dry-run prints the plan and writes nothing',
  usage: 'plinth bootstrap [--dry-run] [--key=value ...]',
  async run({ app, args, out, err }) {
    const dryRun = args.includes('--dry-run')
    const argv = args.filter((arg) => arg !== '--dry-run')
    // Lines appear as the work happens: a large download shows up before it ends.
    const unsubscribe = app.events.subscribe((event) => {
      if (event.type === 'bootstrap-action' && (dryRun || event.action !== 'skip')) out(formatAction(event))
      if (event.type === 'module-excluded') err(`warning: module "${event.module}" (${event.source}) is excluded: ${event.reason}`)
    })
    try {
      if (dryRun) out('bootstrap plan (dry run: nothing is written):')
      const report = await app.bootstrap({ argv, dryRun })
      if (!report) {
        out('the bootstrap phase is disabled (bootstrap.enabled is false); nothing to do')
        return ExitCode.ok
      }
      for (const failure of report.failures) err(`${failure.handler} cannot run: ${isPlinthError(failure.error) ? failure.error.describe() : String(failure.error)}`)
      out(summary(report))
      return report.failures.length > 0 ? ExitCode.failure : ExitCode.ok
    } catch (error) {
      if (isPlinthError(error)) {
        err(error.describe())
        return error.code === 'PLINTH_ERR_INVALID_CONFIG' ? ExitCode.config : ExitCode.failure
      }
      err(error instanceof Error ? (error.stack ?? error.message) : String(error))
      return ExitCode.failure
    } finally {
      unsubscribe()
    }
  },
})
