/**
 * The query bus: one handler per query type (a token, as commands are, so an unhandled query is
 * a missing provider at check), a result cache with a TTL per query, a key from the input,
 * invalidation by tag or by the event types that make a query stale, and read-your-writes: a
 * caller that passes the position its command wrote waits (bounded) until the projection the
 * query reads has passed it, instead of answering from a stale read model or cache.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { Application, optional, provide, token, type DependencyMap, type Provider, type ResolvedDeps, type Token } from '@plinth/core'
import { validation } from './commands.js'
import { ProjectionRunner } from './component.js'
import { QueryCacheComponent, type QueryCache } from './query-cache.js'
import { cqrsErrors } from './errors.js'

export interface QueryOptions {
  /** Read-your-writes: wait until the query's projection has handled this global position. */
  readonly after?: number
  /** How long to wait for it, in ms. Default 5 000; then PLINTH_ERR_QUERY_STALE (503). */
  readonly timeout?: number
}

export type QueryRunner<Input, Result> = (input: Input, options?: QueryOptions) => Promise<Result>

export interface QueryDeclaration<Input> {
  readonly schema?: StandardSchemaV1<unknown, Input>
  /** Cache results this long (ms). Default: not cached. */
  readonly ttl?: number
  /** Event types that make every cached result of this query stale. */
  readonly staleOn?: readonly string[]
  /** Tags of a result, for `QueryCache.invalidateTag(tag)`. */
  readonly tags?: (input: Input) => readonly string[]
  /** The projection whose read model the query reads, for read-your-writes. */
  readonly projection?: string
}

export type QueryType<N extends string, Input, Result> = Token<QueryRunner<Input, Result>, `query:${N}`> & { readonly query: N } & QueryDeclaration<Input>

/**
 * Declares a query type.
 *
 * @example
 * export const DeviceByName = query('device-by-name').of<{ name: string }, Device | undefined>({ ttl: 30_000, staleOn: ['device.renamed'], projection: 'device-names' })
 */
export function query<const N extends string>(name: N) {
  return {
    of<Input, Result>(declaration: QueryDeclaration<Input> = {}): QueryType<N, Input, Result> {
      if (declaration.ttl !== undefined && !(Number.isFinite(declaration.ttl) && declaration.ttl > 0)) {
        throw cqrsErrors.create('PLINTH_ERR_QUERY_INVALID', `query "${name}" has ttl ${String(declaration.ttl)}; give a number of milliseconds above 0, or leave it out to not cache`)
      }
      return Object.assign(token(`query:${name}`).of<QueryRunner<Input, Result>>(), { query: name, ...declaration })
    },
  }
}

/**
 * Provides a query's handler, with its cache and read-your-writes.
 *
 * @example
 * export const deviceByName = handleQuery(DeviceByName, {
 *   deps: { db: Database },
 *   handle: ({ name }, { db }) => db.kysely.selectFrom('device_names').selectAll().where('name', '=', name).executeTakeFirst(),
 * })
 */
export function handleQuery<const N extends string, Input, Result, const D extends DependencyMap = Record<never, never>>(
  type: QueryType<N, Input, Result>,
  handler: { deps?: D; handle(input: Input, deps: ResolvedDeps<D>): Result | Promise<Result> },
): Provider<QueryRunner<Input, Result>, `query:${N}`, DependencyMap> {
  const deps = { ...(handler.deps ?? {}), $app: Application, $cache: QueryCacheComponent, $projections: optional(ProjectionRunner) }
  return provide(type as Token<QueryRunner<Input, Result>, `query:${N}`>, {
    deps,
    create: (resolved) => {
      const { $app: app, $cache: cacheComponent, $projections: projections, ...own } = resolved as Record<string, any>
      const cache = (cacheComponent as { cache: QueryCache }).cache
      cache.declare(type.query, type.staleOn)
      const validate = validation(type.schema, 'query')
      return async (input: Input, options: QueryOptions = {}) => {
        const context = { command: type.query, input: input as unknown, metadata: {}, attempt: 1 }
        await validate.handle(context, () => Promise.resolve())
        const checked = context.input as Input
        if (options.after !== undefined && type.projection !== undefined) {
          if (projections === undefined) throw cqrsErrors.create('PLINTH_ERR_QUERY_INVALID', `query "${type.query}" reads projection "${type.projection}", and the app runs no projections; add eventStore() and the projection`)
          await projections.caughtUp(type.projection, options.after, options.timeout ?? 5_000).catch((error: unknown) => {
            throw cqrsErrors.create('PLINTH_ERR_QUERY_STALE', `query "${type.query}" needs projection "${type.projection}" at position ${options.after}, and it did not get there within ${options.timeout ?? 5_000} ms`, { cause: error })
          })
        }
        const key = `${type.query}:${JSON.stringify(checked)}`
        if (type.ttl !== undefined) {
          const hit = cache.get(key, options.after)
          if (hit) {
            cache.count(cache.hits, type.query)
            return hit.value as Result
          }
          cache.count(cache.misses, type.query)
        }
        const position = type.projection === undefined ? undefined : projections?.position(type.projection)
        const value = await (app as { container: { runInScope<R>(name: string, fn: () => R | Promise<R>): Promise<R> } }).container.runInScope('query', () => handler.handle(checked, own as ResolvedDeps<D>))
        if (type.ttl !== undefined) cache.set(key, { value, expires: Date.now() + type.ttl, tags: type.tags?.(checked) ?? [], query: type.query, position })
        return value
      }
    },
  }) as never
}
