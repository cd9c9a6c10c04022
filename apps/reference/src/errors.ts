import type { z } from 'zod'

/**
 * The errors the reference service's modules throw. Each carries an HTTP status, the lingua
 * franca of Plinth's servers (core's `statusOf` reads it): REST answers with it, the WebSocket
 * server turns it into a wire code (404 `not_found`), gRPC into a status (NOT_FOUND), GraphQL
 * into an extension code (NOT_FOUND). The modules stay free of any one protocol.
 */

/** One invalid field of an operation's input: where (`['readings', 3, 'value']`) and what is wrong. */
export interface Issue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

export interface ServiceErrorOptions {
  /** A URI naming the kind of problem, for REST's problem details. Default `about:blank`. */
  readonly type?: string
  readonly title?: string
  /** Extra facts for clients, sent as problem-details members. */
  readonly extensions?: Readonly<Record<string, unknown>>
  readonly cause?: unknown
}

/** An operation the service refuses, with the status that says why. */
export class ServiceError extends Error {
  readonly status: number
  readonly type: string
  readonly title: string | undefined
  readonly extensions: Readonly<Record<string, unknown>>

  constructor(status: number, message: string, options: ServiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.status = status
    this.type = options.type ?? 'about:blank'
    this.title = options.title
    this.extensions = options.extensions ?? {}
  }
}

/** 404: what the operation names does not exist. */
export class NotFound extends ServiceError {
  constructor(message: string) {
    super(404, message)
  }
}

/** 409: it exists already. */
export class Conflict extends ServiceError {
  constructor(message: string) {
    super(409, message)
  }
}

/** `path` as the message shows it: `readings[3].value`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`)).join('')
}

/**
 * 400: the input is invalid. Every problem is listed at once, each naming its field; `issues`
 * is also what the WebSocket server sends as `details.issues`.
 */
export class InvalidInput extends ServiceError {
  readonly issues: readonly Issue[]

  /**
   * `what` names the input in the message (`the batch`); `consequence` says what did not happen
   * (`nothing was stored`); `status` is 422 for a well-formed request its command refused.
   */
  constructor(issues: readonly Issue[], what = 'the input', consequence?: string, status: 400 | 422 = 400) {
    const list = issues.map((issue) => `${formatPath(issue.path) || '(input)'}: ${issue.message}`).join('; ')
    super(status, `${what} is invalid${consequence === undefined ? '' : ` (${consequence})`}: ${list}`, { type: 'urn:plinth:problem:validation-failed', title: 'Request validation failed' })
    this.issues = issues
  }
}

/** 503: a dependency is down; try again after `retryAfter` seconds. */
export class Unavailable extends ServiceError {
  readonly retryAfter: number

  constructor(message: string, retryAfter: number, cause?: unknown) {
    super(503, message, { cause, extensions: { retryAfter } })
    this.retryAfter = retryAfter
  }
}

/**
 * Converts the issues of a failed Standard Schema validation (zod, valibot, ...) into ours,
 * under `prefix` (`['readings', 3]`).
 *
 * @example
 * const parsed = ReadingInput.safeParse(body)
 * if (!parsed.success) throw new InvalidInput(issuesOf(parsed.error.issues))
 */
export function issuesOf(issues: ReadonlyArray<{ readonly path: readonly PropertyKey[]; readonly message: string }>, prefix: readonly (string | number)[] = []): Issue[] {
  return issues.map((issue) => ({ path: [...prefix, ...issue.path.map((key) => (typeof key === 'number' ? key : String(key)))], message: issue.message }))
}

/**
 * Validates input against a zod schema: the parsed value, or InvalidInput listing every problem.
 *
 * @example
 * const device = parse(DeviceInput, request.body, 'the device')
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw new InvalidInput(issuesOf(parsed.error.issues), what)
  return parsed.data
}
