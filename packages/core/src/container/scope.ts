import type { AsyncLocalStorage } from 'node:async_hooks'
import { PlinthError } from '../errors.js'
import type { Node } from './graph-types.js'

/** @internal */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'

/** @internal */
export const hasDispose = (value: unknown): boolean =>
  value !== null && typeof value === 'object' && (Symbol.asyncDispose in value || Symbol.dispose in value)

/** @internal Disposes one instance: its provider's dispose hook, else Symbol.asyncDispose, else Symbol.dispose. */
export async function disposeInstance(node: Node, instance: unknown): Promise<void> {
  if (node.reg.dispose) return node.reg.dispose(instance)
  const target = instance as Partial<AsyncDisposable & Disposable>
  const asyncDispose = target[Symbol.asyncDispose]
  if (typeof asyncDispose === 'function') return asyncDispose.call(target)
  target[Symbol.dispose]?.call(target)
}

/**
 * A unit of work with its own instances of scoped providers: an HTTP request, a user session,
 * a job. Scopes nest (a request inside a session); the active one travels with the async
 * context. When a scope ends, its instances are disposed in reverse creation order.
 *
 * @example
 * const scope = container.createScope('request')
 * await scope.run(() => handle(request))
 * await scope.dispose()
 */
export class Scope implements AsyncDisposable {
  readonly name: string
  readonly parent: Scope | undefined
  /** @internal */
  readonly instances = new Map<Node, unknown>()
  /** @internal */
  readonly created: Array<[Node, unknown]> = []
  #disposed = false
  readonly #storage: AsyncLocalStorage<Scope>

  /** @internal */
  constructor(name: string, parent: Scope | undefined, storage: AsyncLocalStorage<Scope>) {
    this.name = name
    this.parent = parent
    this.#storage = storage
  }

  get disposed(): boolean {
    return this.#disposed
  }

  /** Runs `fn` with this scope active, for every async continuation it starts. */
  run<R>(fn: () => R): R {
    if (this.#disposed) throw new PlinthError('PLINTH_ERR_SCOPE_DISPOSED', `the "${this.name}" scope has already ended`)
    return this.#storage.run(this, fn)
  }

  /** Disposes every instance this scope created, newest first; one failure does not stop the others. */
  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    const failures: unknown[] = []
    for (let i = this.created.length - 1; i >= 0; i--) {
      const [node, instance] = this.created[i]!
      try {
        await disposeInstance(node, instance)
      } catch (error) {
        failures.push(new PlinthError('PLINTH_ERR_DISPOSE_FAILED', `disposing "${node.name}" (${node.reg.site}) failed`, { cause: error }))
      }
    }
    this.instances.clear()
    this.created.length = 0
    if (failures.length === 1) throw failures[0]
    if (failures.length > 1) {
      throw new PlinthError('PLINTH_ERR_DISPOSE_FAILED', `disposing the "${this.name}" scope failed ${failures.length} times`, {
        cause: new AggregateError(failures),
      })
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose()
  }
}

/**
 * @internal Disposes a container's built instances (node, instance, node, instance, ...) newest
 * first; one failure does not stop the others, and all of them are reported together.
 */
export async function disposeBuilt(built: readonly unknown[]): Promise<void> {
  const failures: unknown[] = []
  for (let i = built.length - 2; i >= 0; i -= 2) {
    const node = built[i] as Node
    const instance = built[i + 1]
    if (!node.reg.dispose && !hasDispose(instance)) continue
    try {
      await disposeInstance(node, instance)
    } catch (error) {
      failures.push(error)
    }
  }
  if (failures.length > 0) {
    throw new PlinthError('PLINTH_ERR_DISPOSE_FAILED', `disposing the container failed ${failures.length} time(s)`, {
      cause: failures.length === 1 ? failures[0] : new AggregateError(failures),
    })
  }
}
