/**
 * Job definitions: a name, the types of its input and result, an optional Standard Schema that
 * checks the input at enqueue, and the options every run of it gets (attempts, backoff, timeout,
 * concurrency, priority, delay). A definition is a plain value shared by the code that enqueues
 * and the handler that runs it, so both agree on the types.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { jobsErrors } from './errors.js'

/** How long to wait before a retry: `fixed` waits `delay` each time, `exponential` doubles it per attempt (BullMQ's formula). */
export interface Backoff {
  readonly type: 'fixed' | 'exponential'
  /** Milliseconds. */
  readonly delay: number
}

/** Options of a job, on its definition (defaults for every run) or per enqueue. */
export interface JobOptions {
  /** Runs in all, the first included. Default 1 (no retry). */
  attempts?: number
  /** Wait between attempts. Default `{ type: 'exponential', delay: 1000 }`. */
  backoff?: Backoff
  /** Milliseconds a run may take before it fails with PLINTH_ERR_JOBS_TIMEOUT and ctx.signal aborts. Default none. */
  timeout?: number
  /** Lower runs first, as in BullMQ and graphile-worker; 0 (the default) is the highest. Whole number, 0 to 2 097 152. */
  priority?: number
  /** Milliseconds before the job may run. Default 0. */
  delay?: number
}

/** Options of one enqueue, beside the definition's defaults. */
export interface EnqueueOptions extends JobOptions {
  /**
   * While a job of this name with this key is queued or active, enqueueing another returns it
   * instead of adding a second (pg-boss's singletonKey, BullMQ's deduplication id).
   */
  uniqueKey?: string
}

/** Options only a definition takes. */
export interface DefinitionOptions<I> extends JobOptions {
  /** Checks the input at enqueue (zod, valibot, arktype... any Standard Schema). */
  input?: StandardSchemaV1<unknown, I>
  /** Runs of this job at once on one instance. Default 1. */
  concurrency?: number
}

/** A declared job: its name, option defaults and, in the type, its input and result. */
export interface JobDefinition<I = unknown, R = unknown, N extends string = string> {
  readonly kind: 'job'
  readonly name: N
  readonly options: Readonly<DefinitionOptions<I>>
  /** Type carriers: never set at run time. */
  readonly __input?: I
  readonly __result?: R
}

export type InputOf<D> = D extends JobDefinition<infer I, unknown, string> ? I : never
export type ResultOf<D> = D extends JobDefinition<unknown, infer R, string> ? R : never

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const MAX_PRIORITY = 2_097_152

/**
 * Declares a job. Give it input and result types with `.of<Input, Result>()`, and optionally a
 * Standard Schema that checks the input when it is enqueued.
 *
 * @example
 * const generateOutline = job('course.generate').of<{ topic: string }, { chapters: string[] }>({
 *   input: z.object({ topic: z.string().min(3) }),
 *   attempts: 3,
 *   backoff: { type: 'exponential', delay: 500 },
 *   timeout: 60_000,
 * })
 */
export function job<const N extends string>(name: N): { of<I = unknown, R = unknown>(options?: DefinitionOptions<I>): JobDefinition<I, R, N> } {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `job name ${JSON.stringify(name)} must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
  return {
    of: <I, R>(options: DefinitionOptions<I> = {}): JobDefinition<I, R, N> => {
      checkOptions(options, `job "${name}"`)
      if (options.concurrency !== undefined) wholeNumber(options.concurrency, 1, `job "${name}": concurrency`)
      if (options.input !== undefined && typeof options.input?.['~standard']?.validate !== 'function') {
        throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `job "${name}": input must be a Standard Schema (zod, valibot, arktype...); got ${typeof options.input}`)
      }
      return Object.freeze({ kind: 'job', name, options: Object.freeze({ ...options }) })
    },
  }
}

function wholeNumber(value: unknown, min: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `${what} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}; got ${JSON.stringify(value)}`)
  }
}

/** Throws PLINTH_ERR_JOBS_INVALID_OPTION naming the first option that is out of range. */
export function checkOptions(options: JobOptions & { uniqueKey?: string }, where: string): void {
  if (options.attempts !== undefined) wholeNumber(options.attempts, 1, `${where}: attempts`, 1000)
  if (options.timeout !== undefined) wholeNumber(options.timeout, 1, `${where}: timeout`)
  if (options.delay !== undefined) wholeNumber(options.delay, 0, `${where}: delay`)
  if (options.priority !== undefined) wholeNumber(options.priority, 0, `${where}: priority`, MAX_PRIORITY)
  if (options.backoff !== undefined) {
    const { type, delay } = options.backoff
    if (type !== 'fixed' && type !== 'exponential') throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `${where}: backoff.type must be "fixed" or "exponential"; got ${JSON.stringify(type)}`)
    wholeNumber(delay, 0, `${where}: backoff.delay`)
  }
  if (options.uniqueKey !== undefined && (typeof options.uniqueKey !== 'string' || options.uniqueKey.length === 0 || options.uniqueKey.length > 512)) {
    throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_OPTION', `${where}: uniqueKey must be a string of 1-512 characters`)
  }
}

/** The settings one enqueue runs with: the call's options over the definition's, over the defaults. */
export interface ResolvedJobOptions {
  readonly attempts: number
  readonly backoff: Backoff
  readonly timeout: number | undefined
  readonly priority: number
  readonly delay: number
  readonly uniqueKey: string | undefined
}

export function resolveOptions(definition: JobDefinition<any, any>, options: EnqueueOptions = {}): ResolvedJobOptions {
  checkOptions(options, `enqueue of "${definition.name}"`)
  const base = definition.options
  return {
    attempts: options.attempts ?? base.attempts ?? 1,
    backoff: options.backoff ?? base.backoff ?? { type: 'exponential', delay: 1000 },
    timeout: options.timeout ?? base.timeout,
    priority: options.priority ?? base.priority ?? 0,
    delay: options.delay ?? base.delay ?? 0,
    uniqueKey: options.uniqueKey,
  }
}

/** The wait before attempt `next` (2 for the first retry), as BullMQ computes it. */
export function backoffFor(backoff: Backoff, next: number): number {
  return backoff.type === 'fixed' ? backoff.delay : Math.round(2 ** Math.max(0, next - 2) * backoff.delay)
}

/** One problem the input schema found: where (`chapters.0.title`) and what. */
export interface InputIssue {
  readonly path: string
  readonly message: string
}

/**
 * Checks `input` against the definition's schema, if it has one; resolves to the schema's output,
 * or rejects with PLINTH_ERR_JOBS_INVALID_INPUT listing every issue with its field path.
 *
 * @example
 * const input = await validateInput(GenerateCourse, request.body) // rejects with each field's path
 */
export async function validateInput<I>(definition: JobDefinition<I, any>, input: unknown): Promise<I> {
  const schema = definition.options.input
  if (schema === undefined) return input as I
  const outcome = await schema['~standard'].validate(input)
  if (outcome.issues === undefined) return outcome.value
  const issues: InputIssue[] = outcome.issues.map((issue) => ({
    path: (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.'),
    message: issue.message,
  }))
  const listed = issues.map((issue) => `${issue.path === '' ? '(input)' : issue.path}: ${issue.message}`).join('; ')
  throw jobsErrors.create('PLINTH_ERR_JOBS_INVALID_INPUT', `the input of job "${definition.name}" is invalid: ${listed}`, { details: { job: definition.name, issues } })
}
