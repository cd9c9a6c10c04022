/**
 * How shutdown works, from the signal to the exit code:
 *
 * 1. `plinth start` (`serve` in cli/cli.ts) turns SIGTERM or SIGINT into `app.stop(reason)`
 *    through {@link handleProcessSignals}; a second signal exits 130 at once, naming what was still
 *    running; an uncaught exception or unhandled rejection is logged, stops the app and exits 1.
 * 2. `app.stop()` (app/app.ts): a stop during start-up aborts the boot, whose rollback stops what
 *    had started; readiness turns false at once (state `stopping`), so probes answer 503.
 * 3. {@link drainAndStop}: the drain delay (`shutdown.drainDelay`, 0 in development, 5 s
 *    otherwise) lets load balancers stop sending traffic while servers still answer;
 * 4. then the lifecycle stops every started component in reverse dependency order, each under its
 *    own stopTimeout and all under what is left of `shutdown.timeout` (`Lifecycle.stop` in
 *    lifecycle.ts);
 * 5. once everything has stopped, the container disposes its instances, and the `stopped` event
 *    names what did not stop in time.
 */
import type { EventStream, LifecycleEvent } from './events.js'
import type { StopReport } from './lifecycle.js'
import { sleep } from './retry.js'

export interface ShutdownOptions {
  /**
   * Time between readiness turning false and servers closing, so that load balancers stop
   * sending traffic first. Default 0 in development, 5 000 ms otherwise.
   */
  drainDelay?: number
  /** Overall deadline for stopping everything, in milliseconds. Default 30 000. */
  timeout?: number
}

/** What a shutdown stops: the running lifecycle and container, when start() got that far. */
export interface ShutdownTarget {
  readonly events: EventStream<LifecycleEvent>
  readonly lifecycle: { stop(deadline: number): Promise<StopReport> } | undefined
  readonly container: { dispose(): Promise<void> } | undefined
}

const now = () => performance.now()

/**
 * Steps 3 to 5: waits the drain delay (only when the app was serving), stops the components in
 * reverse order under what is left of the deadline, disposes the container when everything
 * stopped, and emits `stopped`.
 *
 * @example
 * const report = await drainAndStop({ events, lifecycle, container }, { drainDelay: 5_000, timeout: 30_000 }, { began: performance.now(), serving: true })
 * if (report.unfinished.length > 0) console.error('still running:', report.unfinished)
 */
export async function drainAndStop(
  target: ShutdownTarget,
  settings: Required<ShutdownOptions>,
  { began, serving }: { began: number; serving: boolean },
): Promise<StopReport> {
  const { drainDelay, timeout } = settings
  if (serving && drainDelay > 0) await sleep(Math.min(drainDelay, timeout))
  const remaining = Math.max(0, timeout - (now() - began))
  const report = target.lifecycle ? await target.lifecycle.stop(remaining) : { unfinished: [], failures: [], duration: 0 }
  if (report.unfinished.length === 0) await target.container?.dispose().catch((error: unknown) => report.failures.push({ component: 'container', error }))
  target.events.emit({ type: 'stopped', duration: now() - began, unfinished: report.unfinished, at: now() })
  return { ...report, duration: now() - began }
}

/**
 * The shutdown settings with their defaults: no drain delay in development, where nothing
 * balances load, 5 s elsewhere; 30 s overall.
 *
 * @example
 * shutdownSettings({}, 'production') // { drainDelay: 5000, timeout: 30000 }
 */
export function shutdownSettings(options: ShutdownOptions | undefined, appEnv: string): Required<ShutdownOptions> {
  return { drainDelay: options?.drainDelay ?? (appEnv === 'development' ? 0 : 5_000), timeout: options?.timeout ?? 30_000 }
}

/**
 * Step 1: routes the process's signals and fatal errors to `shutdown`. SIGTERM and SIGINT are a
 * normal stop; an uncaught exception or unhandled rejection is logged first and is a failure.
 *
 * @example
 * handleProcessSignals(app, (reason, failed) => void app.stop(reason).then(() => process.exit(failed ? 1 : 0)))
 */
export function handleProcessSignals(app: { readonly logger: { fatal(bindings: object, message: string): void } }, shutdown: (reason: string, failed: boolean) => void): void {
  process.on('SIGTERM', () => shutdown('SIGTERM', false))
  process.on('SIGINT', () => shutdown('SIGINT', false))
  process.on('uncaughtException', (error) => {
    app.logger.fatal({ err: error }, 'uncaught exception; shutting down')
    shutdown('uncaught exception', true)
  })
  process.on('unhandledRejection', (reason) => {
    app.logger.fatal({ err: reason }, 'unhandled promise rejection; shutting down')
    shutdown('unhandled rejection', true)
  })
}
