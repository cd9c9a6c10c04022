/**
 * The bootstrap phase: before any module loads, handlers prepare what the app and its modules
 * need (directories, config files, databases, artifacts). Handlers run lowest priority first,
 * only when their `shouldRun` says something is missing, each under a deadline and with retries;
 * what each one does is reported on the lifecycle event stream.
 */
import type { BootstrapAction } from './action.js'
export type { BootstrapAction, BootstrapActionKind } from './action.js'
import type { CheckedRequirements } from './requirements.js'
import { withDeadline } from '../lifecycle/deadline.js'
import { PlinthError, describe } from '../errors.js'
import type { EventStream, LifecycleEvent } from '../lifecycle/events.js'
import type { Logger } from '../logging/logger.js'
import { backoffDelay, resolveRetry, sleep, type RetryOptions } from '../lifecycle/retry.js'


/** The requirements of the app (`owner` undefined) or of one registered module. */
export interface RequirementSet {
  readonly owner: string | undefined
  /** The folder template and artifact source paths are relative to. */
  readonly baseDir: string
  readonly requirements: CheckedRequirements
}

export interface BootstrapContext {
  /** The data directory (absolute): `DATA_DIR`, default `./data`. */
  readonly dataDir: string
  readonly cwd: string
  /** The environment start() was given (DATABASE_URL, ...), which tests set apart from the process's. */
  readonly env: NodeJS.ProcessEnv
  readonly appName: string
  readonly appEnv: string
  /** The validated configuration value, when the app has one. */
  readonly config: unknown
  /** True for `plinth bootstrap --dry-run`: report, write nothing. */
  readonly dryRun: boolean
  /** Fires at the handler's deadline. */
  readonly signal: AbortSignal
  readonly log: Logger
  /** What the app and each registered module declared. */
  readonly requirements: readonly RequirementSet[]
  /** Records what the handler did; each record is a `bootstrap-action` event and a log line. */
  record(action: Omit<BootstrapAction, 'handler'>): void
  /** Reports progress of a long action (a download), as throttled `bootstrap-progress` events. */
  progress(target: string, received: number, total: number | undefined): void
}

/**
 * A step of the bootstrap phase.
 *
 * @example
 * const seedCache: BootstrapHandler = {
 *   name: 'seed-cache',
 *   priority: 50,
 *   shouldRun: (ctx) => !existsSync(join(ctx.dataDir, 'cache/seed.db')),
 *   execute: async (ctx) => {
 *     await buildSeed(join(ctx.dataDir, 'cache/seed.db'))
 *     ctx.record({ action: 'create', subject: 'file', target: 'cache/seed.db' })
 *   },
 * }
 */
export interface BootstrapHandler {
  readonly name: string
  /** Lower runs first; the built-ins use 10 (directories) to 40 (artifacts). */
  readonly priority: number
  /** Whether anything is missing; reads only (a dry run calls it too). */
  shouldRun(context: BootstrapContext): boolean | Promise<boolean>
  execute(context: BootstrapContext): void | Promise<void>
  /**
   * What execute would do, for a dry run; without it a dry run lists the handler as "run". Also
   * called after `shouldRun` said no, to report what was found in place.
   */
  plan?(context: BootstrapContext): Promise<readonly Omit<BootstrapAction, 'handler'>[]>
}

/** The `bootstrap` settings of an app. */
export interface BootstrapSettings {
  /** Default true. When false the phase is skipped entirely. */
  enabled?: boolean
  /** Deadline of each handler (all its work, per attempt), in milliseconds. Default 300 000. */
  timeout?: number
  /** Attempts per handler with backoff; a number is the attempt count. Default 3. */
  retry?: number | RetryOptions
  /** Stop at the first failing handler (default). When false the rest still run and every failure is reported together. */
  failFast?: boolean
}

export interface BootstrapReport {
  readonly dryRun: boolean
  readonly dataDir: string
  /** Everything done (or planned), skips included, in order. */
  readonly actions: readonly BootstrapAction[]
  readonly failures: readonly { handler: string; error: unknown }[]
  readonly duration: number
}

const now = () => performance.now()

// Retrying cannot fix these: the same bytes, declaration or missing driver would fail the same way.
const permanent = new Set(['PLINTH_ERR_ARTIFACT_CHECKSUM', 'PLINTH_ERR_NO_DATABASE_DRIVER', 'PLINTH_ERR_BOOTSTRAP_PATH', 'PLINTH_ERR_TEMPLATE'])

/** Orders the handlers and rejects malformed ones, before anything runs. */
function checkHandlers(handlers: readonly BootstrapHandler[]): BootstrapHandler[] {
  const names = new Set<string>()
  for (const [i, h] of handlers.entries()) {
    const problems: string[] = []
    if (typeof h?.name !== 'string' || h.name === '') problems.push('name must be a non-empty string')
    if (typeof h?.priority !== 'number' || !Number.isFinite(h.priority)) problems.push('priority must be a number')
    if (typeof h?.shouldRun !== 'function') problems.push('shouldRun must be a function')
    if (typeof h?.execute !== 'function') problems.push('execute must be a function')
    if (problems.length > 0) throw new PlinthError('PLINTH_ERR_INVALID_BOOTSTRAP', `bootstrap handler #${i} (${String(h?.name)}) is malformed: ${problems.join('; ')}`)
    if (names.has(h.name)) throw new PlinthError('PLINTH_ERR_INVALID_BOOTSTRAP', `two bootstrap handlers are named "${h.name}"; names identify handlers in reports, so each must be unique`)
    names.add(h.name)
  }
  // Array.prototype.sort is stable: equal priorities keep declaration order, built-ins first.
  return [...handlers].sort((a, b) => a.priority - b.priority)
}

/**
 * Runs the handlers in priority order: each whose `shouldRun` says so, under the timeout, with
 * retries. Resolves to the report; failures are in it, not thrown (see `bootstrapFailed`).
 *
 * @example
 * const report = await runBootstrap(handlers, base, { failFast: false }, app.events)
 * if (report.failures.length > 0) throw bootstrapFailed(report)
 */
export async function runBootstrap(
  handlers: readonly BootstrapHandler[],
  base: Omit<BootstrapContext, 'signal' | 'record' | 'progress'>,
  settings: BootstrapSettings,
  events: EventStream<LifecycleEvent>,
): Promise<BootstrapReport> {
  const began = now()
  const ordered = checkHandlers(handlers)
  const timeout = settings.timeout ?? 300_000
  const policy = resolveRetry(settings.retry ?? 3)
  const failFast = settings.failFast ?? true
  const actions: BootstrapAction[] = []
  const failures: { handler: string; error: unknown }[] = []
  const emitAction = (action: BootstrapAction) => {
    actions.push(action)
    events.emit({ type: 'bootstrap-action', ...action, dryRun: base.dryRun, at: now() })
  }

  for (const handler of ordered) {
    for (let attempt = 1; ; attempt++) {
      const attemptBegan = now()
      const recorded: BootstrapAction[] = []
      events.emit({ type: 'bootstrap-handler-started', handler: handler.name, attempt, dryRun: base.dryRun, at: attemptBegan })
      try {
        await withDeadline(
          timeout,
          undefined,
          () => new PlinthError('PLINTH_ERR_BOOTSTRAP_TIMEOUT', `bootstrap handler "${handler.name}" did not finish within ${timeout} ms`),
          async (signal) => {
            const progress = throttledProgress(handler.name, events)
            const context: BootstrapContext = {
              ...base,
              signal,
              record: (action) => {
                const full = { ...action, handler: handler.name }
                recorded.push(full)
                emitAction(full)
              },
              progress,
            }
            if (base.dryRun) {
              if (handler.plan) for (const step of await handler.plan(context)) context.record(step)
              else if (await handler.shouldRun(context)) context.record({ action: 'run', subject: 'handler', target: handler.name })
              return
            }
            if (await handler.shouldRun(context)) await handler.execute(context)
            // Nothing to do: the plan (all skips) still says what was found in place.
            else if (handler.plan) for (const step of await handler.plan(context)) context.record(step)
          },
        )
        events.emit({ type: 'bootstrap-handler-completed', handler: handler.name, duration: now() - attemptBegan, actions: recorded.filter((a) => a.action !== 'skip').length, at: now() })
        break
      } catch (error) {
        const retryable = !(error instanceof PlinthError && permanent.has(error.code)) && !base.dryRun
        const retryIn = retryable && attempt < policy.attempts ? backoffDelay(policy, attempt) : undefined
        events.emit({ type: 'bootstrap-handler-failed', handler: handler.name, duration: now() - attemptBegan, attempt, error, retryIn, at: now() })
        if (retryIn !== undefined) {
          await sleep(retryIn)
          continue
        }
        failures.push({ handler: handler.name, error })
        break
      }
    }
    if (failures.length > 0 && failFast && !base.dryRun) break
  }

  const performed = actions.filter((a) => a.action !== 'skip').length
  const duration = now() - began
  events.emit({ type: 'bootstrap-finished', dryRun: base.dryRun, performed, skipped: actions.length - performed, failed: failures.map((f) => f.handler), duration, at: now() })
  return { dryRun: base.dryRun, dataDir: base.dataDir, actions, failures, duration }
}

/**
 * The error that aborts start-up: every failed handler with its cause.
 *
 * @example
 * if (report.failures.length > 0) throw bootstrapFailed(report) // PLINTH_ERR_BOOTSTRAP_FAILED
 */
export function bootstrapFailed(report: BootstrapReport): PlinthError {
  const lines = report.failures.map((f) => `  - ${f.handler}: ${describe(f.error).replaceAll('\n', '\n    ')}`)
  const count = report.failures.length === 1 ? `handler "${report.failures[0]!.handler}" failed` : `${report.failures.length} handlers failed`
  return new PlinthError('PLINTH_ERR_BOOTSTRAP_FAILED', `bootstrap ${count}; start-up aborted:\n${lines.join('\n')}`, {
    cause: report.failures.length === 1 ? report.failures[0]!.error : new AggregateError(report.failures.map((f) => f.error)),
    details: { failures: report.failures.map((f) => ({ handler: f.handler, error: describe(f.error) })), dataDir: report.dataDir },
  })
}

/** At most one progress event per target per 1% (or per MiB when the size is unknown), plus the last. */
function throttledProgress(handler: string, events: EventStream<LifecycleEvent>): BootstrapContext['progress'] {
  const last = new Map<string, number>()
  return (target, received, total) => {
    const step = total ? Math.max(1, Math.floor(total / 100)) : 1 << 20
    const previous = last.get(target)
    if (previous !== undefined && received - previous < step && received !== total) return
    last.set(target, received)
    events.emit({ type: 'bootstrap-progress', handler, target, received, total, at: now() })
  }
}
