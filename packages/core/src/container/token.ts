import { captureSite, type Site } from './site.js'

declare const valueType: unique symbol

/**
 * A typed key in the container. A token names a thing a component needs; a provider says how
 * it is made. The name must be unique within an app: graph errors and the type-level check
 * for missing providers use it.
 */
export interface Token<out T = unknown, out N extends string = string> {
  readonly kind: 'token'
  readonly id: symbol
  readonly name: N
  /** Where the token was declared, as "file:line". */
  readonly site: Site
  readonly [valueType]?: T
}

/**
 * A token that any number of providers contribute to; resolving it gives every contribution,
 * in registration order (health checks, routes, plugins).
 */
export interface MultiToken<out T = unknown, out N extends string = string> {
  readonly kind: 'multi'
  readonly id: symbol
  readonly name: N
  readonly site: Site
  readonly [valueType]?: T
}

/** What `token(name)` returns: a token of unknown type, to be typed with `.of<T>()` or `.many<T>()`. */
export interface TokenDeclaration<N extends string> extends Token<unknown, N> {
  /** This token, typed: `token('clock').of<Clock>()`. */
  of<T>(): Token<T, N>
  /** A multi token: `token('routes').many<Route>()` resolves to `readonly Route[]`. */
  many<T>(): MultiToken<T, N>
}

/**
 * Declares a token. Name first, type second, so that the name keeps its literal type and a
 * missing provider can be reported by name at compile time.
 *
 * @example
 * interface Clock { now(): number }
 * export const Clock = token('clock').of<Clock>()
 * export const HealthChecks = token('health-checks').many<HealthCheck>()
 */
export function token<const N extends string>(name: N): TokenDeclaration<N> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`token(name) needs a non-empty string name; got ${JSON.stringify(name)}`)
  }
  const site = captureSite(token)
  declareName(name)
  let multi: MultiToken<unknown, N> | undefined
  const declaration = {
    kind: 'token' as const,
    id: Symbol(name),
    name,
    site,
    of() {
      return declaration
    },
    // One multi token per declaration, however often it is asked for.
    many() {
      return (multi ??= { kind: 'multi', id: Symbol(name), name, site })
    },
  }
  return declaration as TokenDeclaration<N>
}

const declaredNames = new Set<string>()
const sharedNames = new Set<string>()

/** @internal Records a token's name; token() and component() call it for every token they make. */
export function declareName(name: string): void {
  if (declaredNames.has(name)) sharedNames.add(name)
  else declaredNames.add(name)
}

/**
 * @internal Whether more than one token declared in this process has this token's name. Only
 * then can a graph hold two different tokens of one name, so graph validation looks names up
 * for these tokens alone. A declaration and its `.many()` count as one.
 */
export function sharedName(t: AnyToken): boolean {
  return sharedNames.has(t.name)
}

/** @internal Whether any two tokens declared in this process share a name. */
export function anySharedName(): boolean {
  return sharedNames.size > 0
}

/** Whether a value is a token, optional(token) or accessor(token). */
export function isDependency(value: unknown): value is Dependency {
  const kind = (value as { kind?: unknown } | undefined)?.kind
  return kind === 'token' || kind === 'multi' || ((kind === 'optional' || kind === 'accessor') && isDependency((value as { token: unknown }).token))
}

/** A dependency that may be absent or failed: it resolves to `undefined` then. */
export interface Optional<out Tk extends AnyToken = AnyToken> {
  readonly kind: 'optional'
  readonly token: Tk
}

/**
 * A dependency resolved on each call, in the scope active at that moment. This is how a
 * singleton reaches a request-scoped instance without capturing it.
 */
export interface Accessor<out Tk extends AnyToken = AnyToken> {
  readonly kind: 'accessor'
  readonly token: Tk
}

export type AnyToken = Token<any, string> | MultiToken<any, string>
export type Dependency = AnyToken | Optional | Accessor
export type DependencyMap = Readonly<Record<string, Dependency>>

/**
 * Marks a dependency optional: when no provider exists, or its component failed to start, the
 * dependent receives `undefined` and the app reports itself degraded instead of failing.
 *
 * @example
 * component('reports', { deps: { cache: optional(Cache) }, create: ({ cache }) => new Reports(cache) })
 */
export function optional<Tk extends AnyToken>(dependency: Tk): Optional<Tk> {
  return { kind: 'optional', token: dependency }
}

/**
 * Depends on a function that resolves the token when called, in the current scope.
 *
 * @example
 * component('audit', {
 *   deps: { user: accessor(CurrentUser) },
 *   create: ({ user }) => ({ record: (what: string) => log(user().id, what) }),
 * })
 */
export function accessor<Tk extends AnyToken>(dependency: Tk): Accessor<Tk> {
  return { kind: 'accessor', token: dependency }
}

/** The value a token resolves to. */
export type ValueOf<Tk> = Tk extends MultiToken<infer T, string> ? readonly T[] : Tk extends Token<infer T, string> ? T : never

/** The value a dependency declaration resolves to. */
export type Resolved<D> =
  D extends Optional<infer Tk> ? ValueOf<Tk> | undefined : D extends Accessor<infer Tk> ? () => ValueOf<Tk> : ValueOf<D>

/** The object a factory or constructor receives for a dependency map. */
export type ResolvedDeps<D extends DependencyMap> = { readonly [K in keyof D]: Resolved<D[K]> }
