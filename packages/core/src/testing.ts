/**
 * The test harness for Plinth apps (fx's fxtest): boot a slice of an app with overrides, get
 * its components, and have start and stop failures surface as the lifecycle's own errors.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { App, StartOptions, StartResult } from './app/app.js'
import { EventSpy, type LifecycleEvent } from './lifecycle/events.js'
import type { StopReport } from './lifecycle/lifecycle.js'
import { PlinthError } from './errors.js'
import type { AnyToken, ValueOf } from './container/token.js'

export interface TestApp extends AsyncDisposable {
  readonly app: App
  /** Every lifecycle event of the run. */
  readonly spy: EventSpy<LifecycleEvent>
  readonly started: StartResult
  get<Tk extends AnyToken>(token: Tk): ValueOf<Tk>
  resolve<Tk extends AnyToken>(token: Tk): Promise<ValueOf<Tk>>
  /** Stops the app; rejects when something failed or did not stop in time. */
  stop(): Promise<StopReport>
}

/**
 * Starts an app for a test. Configuration comes from `env` and `argv` only (not the machine's
 * environment), `overrides` replace providers, and `await using` stops it at the end of the block.
 * The bootstrap phase prepares a temporary data directory (`DATA_DIR`), removed at stop, unless
 * `env.DATA_DIR` names one.
 *
 * @example
 * await using t = await startTestApp(createApp({ name: 'test', components: [users, fakeMailer] }), {
 *   overrides: [provide(Mailer, { value: fakeMailer })],
 * })
 * expect(t.get(users).count()).toBe(0)
 */
export async function startTestApp(app: App, options: StartOptions = {}): Promise<TestApp> {
  const spy = new EventSpy<LifecycleEvent>()
  app.events.subscribe(spy.listener)
  // Each test app bootstraps into a data directory of its own, removed when it stops, unless the test sets DATA_DIR.
  const dataDir = options.env?.DATA_DIR === undefined ? await mkdtemp(join(tmpdir(), 'plinth-test-data-')) : undefined
  const removeDataDir = () => (dataDir ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve())
  const started = await app.start({ argv: [], ...options, env: { ...options.env, ...(dataDir ? { DATA_DIR: dataDir } : {}) } }).catch(async (error: unknown) => {
    await removeDataDir()
    throw error
  })
  let stopped: Promise<StopReport> | undefined
  const stop = () =>
    (stopped ??= app.stop('test finished').finally(removeDataDir).then((report) => {
      if (report.unfinished.length > 0 || report.failures.length > 0) {
        throw new PlinthError(
          'PLINTH_ERR_STOP_FAILED',
          `stopping the test app failed: ${[...report.unfinished.map((c) => `${c} did not stop`), ...report.failures.map((f) => `${f.component}: ${String(f.error)}`)].join('; ')}`,
        )
      }
      return report
    }))
  return {
    app,
    spy,
    started,
    get: (token) => app.container.get(token),
    resolve: (token) => app.container.resolve(token),
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop()
    },
  }
}

export { EventSpy }
export { TcpProxy } from './testing/proxy.js'
export { freePort } from './testing/ports.js'
export { probeService, type ProbeServiceOptions, type ServiceAvailability } from './testing/services.js'
export { memoryStartCache, type MemoryStartCache } from './testing/start-cache.js'
