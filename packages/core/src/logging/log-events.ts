import { assertNever, type EventStream, type LifecycleEvent } from '../lifecycle/events.js'
import { describe, errorFields, isOperational } from '../errors.js'
import type { Logger } from './logger.js'

const ms = (value: number) => `${value.toFixed(1)} ms`
const pastTense = { create: 'created', fetch: 'fetched', copy: 'copied', repair: 'repaired', skip: 'skipped', run: 'ran' } as const

export interface LogEventsOptions {
  /**
   * Write the ready line as a banner of several lines (an address a line, then boot time,
   * critical path, what is degraded and why): for people at a terminal, where logs are pretty.
   */
  readonly banner?: boolean
}

/**
 * A boot's bootstrap in a phrase: "created 4 directories, 2 files and database app; copied 2
 * artifacts". Databases are named (a new one is worth noticing); other subjects are counted.
 */
function summarize(done: readonly Extract<LifecycleEvent, { type: 'bootstrap-action' }>[]): string {
  const byAction = new Map<string, Map<string, string[]>>()
  for (const a of done) {
    const subjects = byAction.get(a.action) ?? byAction.set(a.action, new Map()).get(a.action)!
    subjects.set(a.subject, [...(subjects.get(a.subject) ?? []), a.target])
  }
  const plural = (word: string) => (word.endsWith('y') ? `${word.slice(0, -1)}ies` : `${word}s`)
  const list = (items: string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`)
  return [...byAction]
    .map(([action, subjects]) => {
      const things = [...subjects].map(([subject, targets]) => (subject === 'database' ? `${targets.length === 1 ? subject : plural(subject)} ${targets.join(', ')}` : targets.length === 1 ? `1 ${subject}` : `${targets.length} ${plural(subject)}`))
      return `${pastTense[action as keyof typeof pastTense] ?? action} ${list(things)}`
    })
    .join('; ')
}

/** The ready line's message: one line for log files, a banner for a terminal. */
function readyMessage(event: Extract<LifecycleEvent, { type: 'ready' }>, reasons: ReadonlyMap<string, string>, banner: boolean): string {
  const path = event.criticalPath.map((s) => `${s.component} (${ms(s.duration)})`).join(' -> ') || '(nothing to start)'
  const degraded = event.degraded.map((name) => (reasons.has(name) ? `${name} (${reasons.get(name)})` : name))
  const excluded = event.excludedModules.map((m) => `${m.id} (${m.reason})`)
  if (!banner) {
    const endpoints = event.endpoints.length > 0 ? `; ${event.endpoints.map((e) => `${e.name} ${e.url}`).join(', ')}` : ''
    return `ready in ${ms(event.duration)}${endpoints}; critical path: ${path}${degraded.length > 0 ? `; degraded: ${degraded.join(', ')}` : ''}${excluded.length > 0 ? `; modules excluded: ${excluded.join(', ')}` : ''}`
  }
  const width = Math.max(0, ...event.endpoints.map((e) => e.name.length))
  return [
    `ready in ${ms(event.duration)}${degraded.length > 0 ? ', degraded' : ''}`,
    ...event.endpoints.map((e) => `  ${e.name.padEnd(width)}  ${e.url}`),
    `  critical path: ${path}`,
    ...degraded.map((d) => `  degraded: ${d}`),
    ...excluded.map((m) => `  module excluded: ${m}`),
  ].join('\n')
}

/**
 * Logs the lifecycle: one line per notable event, the ready line with boot time and critical
 * path. The ready line is written even when the level is above info (still as an info line), so
 * that a service at LOG_LEVEL=warn still says it is up; only `silent` hides it.
 */
export function logEvents(events: EventStream<LifecycleEvent>, log: Logger, options: LogEventsOptions = {}): () => void {
  const reasons = new Map<string, string>()
  // Components whose stop failed or passed its deadline: the last line of a shutdown names them, rather than reading as a clean stop.
  const unclean = new Set<string>()
  // What this boot's bootstrap did: one line at its end; each action is a line of its own at debug.
  const done: Extract<LifecycleEvent, { type: 'bootstrap-action' }>[] = []
  return events.subscribe((event) => {
    switch (event.type) {
      case 'phase-started':
      case 'component-starting':
      case 'component-stopping':
        log.trace({ event: event.type, ...('component' in event ? { component: event.component } : {}) }, event.type)
        return
      case 'phase-completed':
        log.debug({ phase: event.phase, duration: event.duration }, `${event.phase} phase done in ${ms(event.duration)}`)
        return
      case 'phase-failed':
        log.debug({ phase: event.phase, duration: event.duration }, `${event.phase} phase failed after ${ms(event.duration)}`)
        return
      case 'component-started':
        log.debug(
          { component: event.component, module: event.module, duration: event.duration, attempts: event.attempts },
          `${event.component} started in ${ms(event.duration)}`,
        )
        return
      case 'component-failed': {
        // A failure of the environment (a port in use) is one line with its fix; a stack would only point into Plinth.
        const { error } = event
        const what = isOperational(error) ? `${describe(error)}; fix: ${error.hint}` : describe(error)
        log[event.retryIn === undefined ? 'error' : 'warn'](
          { component: event.component, module: event.module, attempt: event.attempt, ...errorFields(error) },
          event.retryIn === undefined ? `${event.component} failed: ${what}` : `${event.component} failed (attempt ${event.attempt}), retrying in ${event.retryIn} ms: ${what}`,
        )
        return
      }
      case 'component-degraded':
        reasons.set(event.component, event.reason)
        log.warn({ component: event.component, module: event.module }, `${event.component} is unavailable; running degraded: ${event.reason}`)
        return
      case 'rolling-back':
        log.error({ failed: event.failures.map((f) => f.component) }, 'start-up failed; stopping what had started')
        return
      case 'rolled-back':
        log.info({ duration: event.duration }, `rolled back in ${ms(event.duration)}`)
        return
      case 'ready': {
        const excluded = event.excludedModules.length > 0
        // A warning when modules were left out, so that it shows wherever warnings are looked for.
        const level = excluded ? 'warn' : 'info'
        // Above info (LOG_LEVEL=warn), the line is still an info line, through a child at info: not a false warning.
        const out = log.isLevelEnabled(level) || log.level === 'silent' ? log : log.child({}, { level })
        // In a banner the fields would repeat the message; log files keep them, for tools.
        const fields = options.banner ? {} : { bootMs: Math.round(event.duration * 10) / 10, criticalPath: event.criticalPath, degraded: event.degraded, endpoints: event.endpoints, excludedModules: event.excludedModules }
        out[level](fields, readyMessage(event, reasons, options.banner ?? false))
        reasons.clear()
        return
      }
      case 'shutdown-requested':
        unclean.clear()
        // The drain is silent otherwise: say why nothing stops for a while.
        log.info({ reason: event.reason, drainMs: event.drain }, `shutting down (${event.reason})${event.drain > 0 ? `: readiness answers 503 and the servers keep answering for ${event.drain >= 1_000 ? `${event.drain / 1_000} s` : ms(event.drain)} so that load balancers move away (shutdown.drainDelay), then components stop` : ''}`)
        return
      case 'component-stopped':
        log.debug({ component: event.component, duration: event.duration }, `${event.component} stopped in ${ms(event.duration)}`)
        return
      case 'component-stop-failed':
        unclean.add(event.component)
        log.error({ component: event.component, err: event.error }, `${event.component} failed to stop: ${describe(event.error)}`)
        return
      case 'stopped':
        if (event.unfinished.length > 0) log.error({ unfinished: event.unfinished }, `shutdown deadline passed; still stopping: ${event.unfinished.join(', ')}`)
        else if (unclean.size > 0) log.error({ duration: event.duration, failed: [...unclean] }, `stopped in ${ms(event.duration)}; failed to stop: ${[...unclean].join(', ')} (see above)`)
        else log.info({ duration: event.duration }, `stopped in ${ms(event.duration)}`)
        return
      case 'module-registered':
        log.debug({ module: event.module, version: event.version, source: event.source }, `module ${event.module}@${event.version} registered (${event.components} components) from ${event.source}`)
        return
      case 'module-excluded':
        log[event.required ? 'error' : 'warn']({ module: event.module, source: event.source, err: event.error }, `module ${event.module} excluded: ${event.reason}`)
        return
      case 'module-initialising':
      case 'bootstrap-handler-started':
      case 'bootstrap-progress':
        log.trace({ event: event.type, ...('module' in event ? { module: event.module } : { handler: event.handler }) }, event.type)
        return
      case 'module-initialised':
        log.debug({ module: event.module, duration: event.duration }, `module ${event.module} initialised in ${ms(event.duration)}`)
        return
      case 'module-degraded':
        log[event.required ? 'error' : 'warn']({ module: event.module, err: event.error }, `module ${event.module} is degraded: ${event.reason}`)
        return
      case 'bootstrap-handler-completed':
        log.debug({ handler: event.handler, duration: event.duration, actions: event.actions }, `bootstrap handler ${event.handler} done in ${ms(event.duration)}`)
        return
      case 'bootstrap-handler-failed':
        log[event.retryIn === undefined ? 'error' : 'warn'](
          { handler: event.handler, attempt: event.attempt, err: event.error },
          event.retryIn === undefined
            ? `bootstrap handler ${event.handler} failed: ${describe(event.error)}`
            : `bootstrap handler ${event.handler} failed (attempt ${event.attempt}), retrying in ${event.retryIn} ms: ${describe(event.error)}`,
        )
        return
      case 'bootstrap-action': {
        const what = `${event.subject} ${event.target}${event.module ? ` (module ${event.module})` : ''}${event.detail ? `: ${event.detail}` : ''}`
        const fields = { handler: event.handler, action: event.action, subject: event.subject, target: event.target, module: event.module }
        if (event.dryRun && event.action !== 'skip') return void log.info(fields, `bootstrap (dry run): would ${event.action} ${what}`)
        if (event.action !== 'skip') done.push(event)
        log.debug(fields, `bootstrap: ${pastTense[event.action]} ${what}`)
        return
      }
      case 'bootstrap-finished':
        if (event.failed.length > 0) log.error({ failed: event.failed }, `bootstrap failed in ${event.failed.join(', ')}`)
        else if (event.performed === 0) log.info({ skipped: event.skipped }, 'no bootstrap actions needed')
        else if (event.dryRun) log.info({ performed: event.performed, skipped: event.skipped, duration: event.duration }, `bootstrap plan: ${event.performed} action${event.performed === 1 ? '' : 's'}, ${event.skipped} already in place (${ms(event.duration)})`)
        else {
          log.info({ performed: event.performed, skipped: event.skipped, duration: event.duration }, `bootstrap done in ${ms(event.duration)}: ${summarize(done)}; ${event.skipped} already in place`)
        }
        done.length = 0
        return
      default:
        assertNever(event)
    }
  })
}
