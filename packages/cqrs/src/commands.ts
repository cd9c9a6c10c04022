/**
 * The command bus. A command type is a token: a component that sends it depends on it
 * (`deps: { placeOrder: PlaceOrder }`) and gets a function that runs the middleware and the one
 * handler. So a command nobody handles is a missing provider, reported by `plinth check` with the
 * component that sends it, not a run-time "no handler" on the first request.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { Application, provide, token, type DependencyMap, type Provider, type ResolvedDeps, type Token } from '@plinth/core'
import { cqrsErrors } from './errors.js'

/** Sends a command through the middleware to its handler. */
export type CommandSender<Input, Result> = (input: Input, metadata?: Readonly<Record<string, unknown>>) => Promise<Result>

/** A declared command: the token its handler provides and its senders depend on. */
export type CommandType<N extends string, Input, Result> = Token<CommandSender<Input, Result>, `command:${N}`> & {
  readonly command: N
  readonly schema?: StandardSchemaV1<unknown, Input>
}

/** What middleware sees of a command on its way to the handler. */
export interface CommandContext {
  readonly command: string
  input: unknown
  readonly metadata: Readonly<Record<string, unknown>>
  /** The attempt, from 1: middleware that retries calls `next` again. */
  attempt: number
}

/** Middleware around every command: validation, logging, authorization, transactions, retries. */
export interface CommandMiddleware {
  readonly name: string
  /** Lower runs outside higher: 100 sees the command before 200. */
  readonly order: number
  handle(context: CommandContext, next: () => Promise<unknown>): Promise<unknown>
}

/** Every middleware the app declares; the bus sorts them by `order`. */
export const CommandMiddlewares = token('command-middlewares').many<CommandMiddleware>()

/**
 * Declares a command type.
 *
 * @example
 * export const RenameDevice = command('rename-device').of<{ id: string; name: string }, { version: number }>({ schema: renameSchema })
 */
export function command<const N extends string>(name: N) {
  return {
    of<Input, Result>(options: { schema?: StandardSchemaV1<unknown, Input> } = {}): CommandType<N, Input, Result> {
      const declared = token(`command:${name}`).of<CommandSender<Input, Result>>()
      return Object.assign(declared, { command: name, ...(options.schema ? { schema: options.schema } : {}) })
    },
  }
}

/**
 * Runs middleware in order around the handler.
 *
 * @example
 * await runThrough([validation(schema), logging], { command: 'rename-device', input, metadata: {}, attempt: 1 }, () => handle(input))
 */
export function runThrough(middlewares: readonly CommandMiddleware[], context: CommandContext, handler: () => Promise<unknown>): Promise<unknown> {
  const dispatch = (index: number): Promise<unknown> => (index === middlewares.length ? handler() : middlewares[index]!.handle(context, () => dispatch(index + 1)))
  return dispatch(0)
}

/**
 * The validation every bus runs first: the command's (or query's) schema, with the field path of each problem.
 *
 * @example
 * provide(CommandMiddlewares, { value: validation(renameSchema) }) // each bus adds it first by itself
 */
export function validation(schema: StandardSchemaV1 | undefined, kind: 'command' | 'query' = 'command'): CommandMiddleware {
  return {
    name: 'validation',
    order: 0,
    async handle(context, next) {
      if (schema === undefined) return next()
      const result = await schema['~standard'].validate(context.input)
      if (result.issues) {
        const problems = result.issues.map((issue) => `${issue.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.') || '(input)'}: ${issue.message}`)
        const code = kind === 'command' ? 'PLINTH_ERR_COMMAND_INVALID' : 'PLINTH_ERR_QUERY_INVALID'
        throw Object.assign(cqrsErrors.create(code, `${kind} "${context.command}" is invalid: ${problems.join('; ')}`, { details: { issues: result.issues } }), { issues: result.issues })
      }
      context.input = result.value
      return next()
    },
  }
}

/**
 * Retries a command whose append lost an optimistic-concurrency race: the handler reads the
 * stream again and decides again. Other errors pass through.
 *
 * @example
 * provide(CommandMiddlewares, { value: retryOnConflict({ attempts: 3 }) })
 */
export function retryOnConflict(options: { attempts?: number } = {}): CommandMiddleware {
  const attempts = options.attempts ?? 3
  return {
    name: 'retry-on-conflict',
    order: 300,
    async handle(context, next) {
      for (;;) {
        try {
          return await next()
        } catch (error) {
          if (!cqrsErrors.is(error, 'PLINTH_ERR_EVENTS_CONFLICT') || context.attempt >= attempts) throw error
          context.attempt++
        }
      }
    },
  }
}

/**
 * Provides a command's handler. It receives the (validated) input, its dependencies and the
 * command's metadata, and runs in a scope of its own ("command"), so scoped providers work.
 *
 * @example
 * export const renameDevice = handleCommand(RenameDevice, {
 *   deps: { events: EventStore },
 *   handle: async ({ id, name }, { events }) => events.append(`device-${id}`, [{ type: 'device.renamed', data: { name } }]),
 * })
 */
export function handleCommand<const N extends string, Input, Result, const D extends DependencyMap = Record<never, never>>(
  type: CommandType<N, Input, Result>,
  handler: { deps?: D; handle(input: Input, deps: ResolvedDeps<D>, metadata: Readonly<Record<string, unknown>>): Result | Promise<Result> },
): Provider<CommandSender<Input, Result>, `command:${N}`, D & { readonly $app: typeof Application; readonly $middlewares: typeof CommandMiddlewares }> {
  const deps = { ...(handler.deps ?? {}), $app: Application, $middlewares: CommandMiddlewares } as unknown as D & { readonly $app: typeof Application; readonly $middlewares: typeof CommandMiddlewares }
  return provide(type as Token<CommandSender<Input, Result>, `command:${N}`>, {
    deps,
    create: (resolved) => {
      const { $app: app, $middlewares: middlewares, ...own } = resolved as unknown as ResolvedDeps<D> & { $app: { container: { runInScope<R>(name: string, fn: () => R | Promise<R>): Promise<R> } }; $middlewares: readonly CommandMiddleware[] }
      const chain = [validation(type.schema), ...[...middlewares].sort((a, b) => a.order - b.order)]
      return async (input: Input, metadata: Readonly<Record<string, unknown>> = {}) => {
        const context: CommandContext = { command: type.command, input, metadata, attempt: 1 }
        return (await runThrough(chain, context, () => app.container.runInScope('command', () => handler.handle(context.input as Input, own as unknown as ResolvedDeps<D>, metadata)))) as Result
      }
    },
  })
}
