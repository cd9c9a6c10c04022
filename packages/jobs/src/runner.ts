/**
 * Runs one job: resolves the handler's dependencies in a scope of its own, gives it a context
 * (progress, checkpoint, signal, log), and turns however the run ends into an outcome the
 * backend records. A handler that hangs past its timeout, is cancelled, or outlives the stop
 * deadline is left behind: the outcome is decided without waiting for it.
 */
import { inspect } from 'node:util'
import { isPlinthError, type AnyToken, type Container, type Dependency, type Logger } from '@plinth/core'
import type { ClaimedJob, JobFailure, JobProgress, RunOutcome } from './contract.js'
import { jobsErrors } from './errors.js'
import type { JobContext, JobHandler } from './handler.js'

export interface RunEnvironment {
  readonly container: Container
  /** Whether some provider lives in the `job` scope; without one, no scope is opened (AsyncLocalStorage is not free). */
  readonly scoped: boolean
  readonly log: Logger
  /** Registers what to call at the stop deadline (the run is handed back); returns the function that unregisters it. */
  readonly onShutdown: (interrupt: () => void) => () => void
  /** Called after a progress update is stored. */
  readonly progressed: (job: ClaimedJob, progress: JobProgress) => void
}

type Why = 'timeout' | 'shutdown' | 'cancelled' | 'lost'

function resolveDependency(container: Container, dependency: Dependency): unknown {
  if (dependency.kind === 'optional') {
    const target = dependency.token
    return container.has(target) ? container.resolve(target).catch(() => undefined) : undefined
  }
  if (dependency.kind === 'accessor') {
    const target = dependency.token
    return () => container.get(target)
  }
  return container.resolve(dependency)
}

const noDeps = Object.freeze({})

async function resolveDeps(container: Container, deps: JobHandler['deps']): Promise<Record<string, unknown>> {
  const entries = Object.entries(deps)
  if (entries.length === 0) return noDeps
  const values = await Promise.all(entries.map(([, dependency]) => resolveDependency(container, dependency)))
  return Object.fromEntries(entries.map(([key], i) => [key, values[i]]))
}

/**
 * The dependencies of `handler` that nothing in the container provides, as an error naming them
 * and where the handler was declared; undefined when all are there.
 *
 * @example
 * const missing = missingDependencies(handler, app.container)
 * if (missing) throw missing
 */
export function missingDependencies(handler: JobHandler, container: Container) {
  const missing = Object.entries(handler.deps)
    .filter(([, dependency]) => dependency.kind !== 'optional' && !container.has(dependency.kind === 'accessor' ? dependency.token : (dependency)))
    .map(([key, dependency]) => `${key} (${(dependency.kind === 'accessor' ? dependency.token : (dependency as AnyToken)).name})`)
  if (missing.length === 0) return undefined
  return jobsErrors.create(
    'PLINTH_ERR_JOBS_MISSING_DEPENDENCY',
    `the handler of job "${handler.definition.name}" declared at ${handler.site} depends on ${missing.join(', ')}, which nothing provides`,
    { details: { job: handler.definition.name, site: handler.site, missing } },
  )
}

/**
 * What a thrown value says, as a failure: an Error's message (and its code when it has one), or
 * for anything else what it was, so that `throw 'oops'` is not recorded as "undefined".
 *
 * @example
 * failureOf(new Error('disk full')) // { message: 'disk full' }
 * failureOf({ reason: 42 }).code    // 'PLINTH_ERR_JOBS_THREW_NON_ERROR'
 */
export function failureOf(thrown: unknown): JobFailure {
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code
    return typeof code === 'string' && code !== '' ? { message: thrown.message, code } : { message: thrown.message || thrown.name }
  }
  return {
    message: `the job handler threw ${thrown === null ? 'null' : typeof thrown} ${inspect(thrown, { depth: 2, breakLength: Infinity })}, not an Error`,
    code: 'PLINTH_ERR_JOBS_THREW_NON_ERROR',
  }
}

/**
 * Runs `job` with `handler` and resolves to how the run ended; never rejects.
 *
 * @example
 * const outcome = await runJob(handler, claimed, { container, scoped: false, log, onShutdown: () => () => {}, progressed: () => {} })
 */
export async function runJob(handler: JobHandler, job: ClaimedJob, env: RunEnvironment): Promise<RunOutcome> {
  // ctx.signal is made on first use: most handlers that never read it spare an AbortController per run.
  let controller: AbortController | undefined
  let why: Why | undefined
  let reason: Error | undefined
  let settle: ((why: Why) => void) | undefined
  const stop = (cause: Why, error: Error) => {
    if (why !== undefined) return
    why = cause
    reason = error
    controller?.abort(error)
    settle?.(cause)
  }
  const stopListening = job.onInterrupt((error) => stop(isPlinthError(error, 'PLINTH_ERR_JOBS_CANCELLED') ? 'cancelled' : 'lost', error))
  const unregister = env.onShutdown(() => stop('shutdown', new Error(`the app is stopping; job ${job.id} goes back to the queue`)))
  const timer =
    job.timeout === undefined
      ? undefined
      : setTimeout(() => stop('timeout', jobsErrors.create('PLINTH_ERR_JOBS_TIMEOUT', `job "${job.name}" (${job.id}) ran past its timeout of ${job.timeout} ms on attempt ${job.attempt}`)), job.timeout)

  let log: Logger | undefined
  const context: JobContext = {
    id: job.id,
    name: job.name,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    lastCheckpoint: job.lastCheckpoint,
    get signal() {
      if (!controller) {
        controller = new AbortController()
        if (why !== undefined) controller.abort(reason)
      }
      return controller.signal
    },
    // Made on first use: most handlers never log, and a child logger per run is not free.
    get log() {
      return (log ??= env.log.child({ job: job.name, jobId: job.id, attempt: job.attempt }))
    },
    progress: async (percent, message, data) => {
      if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
        throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `ctx.progress(percent): percent must be a number from 0 to 100; got ${inspect(percent)}`)
      }
      if (why !== undefined) return
      const progress: JobProgress = { percent, ...(message === undefined ? {} : { message }), ...(data === undefined ? {} : { data }) }
      await job.progress(progress)
      env.progressed(job, progress)
    },
    checkpoint: async (cursor) => {
      if (why !== undefined) return
      await job.checkpoint(cursor)
    },
  }

  let running: Promise<unknown>
  if (env.scoped) running = env.container.runInScope('job', async () => handler.run(job.input, context, await resolveDeps(env.container, handler.deps)))
  else if (Object.keys(handler.deps).length > 0) running = resolveDeps(env.container, handler.deps).then((deps) => handler.run(job.input, context, deps))
  else {
    // The common case, without a scope or dependencies: no promise more than the handler's own.
    try {
      const value = handler.run(job.input, context, noDeps)
      running = value instanceof Promise ? value : Promise.resolve(value)
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever the handler threw, Error or not, is reported as it was
      running = Promise.reject(error)
    }
  }
  // One promise settles with whichever comes first: the handler, or an interruption.
  const first = new Promise<{ done: true; result: unknown } | { done: false; error?: unknown }>((resolve) => {
    // Interrupted already (a cancel that came before the run began): do not wait for the handler.
    if (why !== undefined) resolve({ done: false })
    const previous = settle
    settle = (cause) => {
      previous?.(cause)
      resolve({ done: false })
    }
    running.then(
      (result) => resolve({ done: true, result }),
      (error: unknown) => resolve({ done: false, error }),
    )
  })
  try {
    const outcome = await first
    if (why !== undefined) return outcomeOf(why, reason, job)
    if (outcome.done) return { kind: 'completed', result: outcome.result ?? null }
    const thrown = outcome.error
    const failure = failureOf(thrown)
    if (failure.code === undefined || failure.code === 'PLINTH_ERR_JOBS_THREW_NON_ERROR') context.log.warn({ err: thrown }, `job ${job.name} failed on attempt ${job.attempt}: ${failure.message}`)
    return { kind: 'failed', error: failure, final: isPlinthError(thrown, 'PLINTH_ERR_JOBS_INVALID_INPUT') }
  } finally {
    clearTimeout(timer)
    stopListening()
    unregister()
  }
}

function outcomeOf(why: Why, reason: unknown, job: ClaimedJob): RunOutcome {
  switch (why) {
    case 'timeout':
      return { kind: 'failed', error: failureOf(reason), final: false }
    case 'cancelled':
      return { kind: 'cancelled' }
    case 'shutdown':
    case 'lost':
      // Lost: another worker may already run it; the backend's write is guarded by the lease and does nothing.
      return { kind: 'handed-back' }
    default: {
      const never: never = why
      throw new Error(`unknown interruption ${String(never)} of job ${job.id}`)
    }
  }
}
