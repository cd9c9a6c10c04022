/**
 * Job handlers: the code that runs a job, declared like a component (typed deps) and contributed
 * to the `JobHandlers` multi token by the module that owns the job. Each run resolves the
 * handler's dependencies in a scope of its own (`job`), disposed when the run ends, so a
 * scoped dependency (a unit of work, a transaction) lives exactly as long as one run.
 */
import { provide, token, type DependencyMap, type Logger, type MultiProvider, type ResolvedDeps } from '@plinth/core'
import { captureSite } from './site.js'
import type { JobDefinition } from './definition.js'

/** What a handler gets besides its input and dependencies. */
export interface JobContext {
  readonly id: string
  readonly name: string
  /** 1 on the first run, 2 on the first retry or take-over, ... */
  readonly attempt: number
  readonly maxAttempts: number
  /** The cursor of the last `checkpoint()` of an earlier run, or undefined on a fresh start: resume from it. */
  readonly lastCheckpoint: unknown
  /** Aborts on cancel, timeout, shutdown, or when this instance lost the job. Pass it on to I/O. */
  readonly signal: AbortSignal
  /** The app's logger, bound to the job's name, id and attempt. */
  readonly log: Logger
  /** Stores and publishes progress: 0-100, with an optional message and data for clients. */
  progress(percent: number, message?: string, data?: unknown): Promise<void>
  /** Stores where to resume: a retried or taken-over run gets it as `lastCheckpoint`. */
  checkpoint(cursor: unknown): Promise<void>
}

/** A handler as the jobs component sees it. */
export interface JobHandler {
  readonly definition: JobDefinition<any, any>
  readonly deps: DependencyMap
  /** Runs at once on one instance; from the handler, else the definition, else 1. */
  readonly concurrency: number | undefined
  readonly run: (input: any, context: JobContext, deps: any) => unknown
  /** Where the handler was declared, for errors. */
  readonly site: string
}

/** Every job handler the modules contribute. */
export const JobHandlers = token('job-handlers').many<JobHandler>()

export interface JobHandlerSpec<I, R, D extends DependencyMap> {
  /** Resolved in the run's own `job` scope; scoped providers of scope 'job' get one instance per run. */
  deps?: D
  /** Runs at once on this instance. Default: the definition's, else 1. */
  concurrency?: number
  run(input: I, context: JobContext, deps: ResolvedDeps<D>): R | Promise<R>
}

/**
 * Declares the handler of a job. Put it among a module's components; the jobs component runs it.
 *
 * @example
 * export const generateOutlineHandler = jobHandler(generateOutline, {
 *   deps: { provider: AiProvider },
 *   run: async ({ topic }, ctx, { provider }) => {
 *     const chapters: string[] = (ctx.lastCheckpoint as string[] | undefined) ?? []
 *     for (let i = chapters.length; i < 5; i++) {
 *       chapters.push(await provider.reply(`chapter ${i + 1} of ${topic}`, ctx.signal))
 *       await ctx.checkpoint(chapters)
 *       await ctx.progress(((i + 1) / 5) * 100, `chapter ${i + 1} of 5`)
 *     }
 *     return { chapters }
 *   },
 * })
 */
export function jobHandler<I, R, const N extends string, const D extends DependencyMap = Record<never, never>>(
  definition: JobDefinition<I, R, N>,
  spec: JobHandlerSpec<I, R, D>,
): MultiProvider<JobHandler, 'job-handlers'> {
  const site = captureSite(jobHandler)
  const handler: JobHandler = {
    definition,
    deps: spec.deps ?? {},
    concurrency: spec.concurrency,
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the spec's run is a plain function, called with its arguments
    run: spec.run as JobHandler['run'],
    site,
  }
  return provide(JobHandlers, { value: handler })
}
