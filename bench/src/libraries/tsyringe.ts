import 'reflect-metadata'
import { container as globalContainer, inject, injectable, Lifecycle, type DependencyContainer } from 'tsyringe'
import { positionalClass, type PositionalClass } from '../classes.js'
import type { GraphShape } from '../graphs.js'
import { sync, type Library } from './library.js'

/**
 * tsyringe's idiom: `@injectable() class A { constructor(@inject(B) b: B) {} }`. The decorators
 * are applied as functions (what `@` compiles to), parameters first as TypeScript does, with
 * explicit tokens, so no emitted design:paramtypes metadata is needed.
 */
function decorated(shape: GraphShape): PositionalClass[] {
  const classes: PositionalClass[] = []
  shape.deps.forEach((deps) => {
    const Class = positionalClass(deps.length)
    deps.forEach((d, k) => inject(classes[d]!)(Class, undefined, k))
    injectable()(Class)
    classes.push(Class)
  })
  return classes
}

/** A fresh child of the global container per app, each class registered under itself. */
function container(classes: readonly PositionalClass[], lifecycle: Lifecycle): DependencyContainer {
  const c = globalContainer.createChildContainer()
  for (const Class of classes) c.register(Class, { useClass: Class }, { lifecycle })
  return c
}

export const tsyringe: Library = {
  name: 'tsyringe',
  warmSingleton(shape) {
    const classes = decorated(shape)
    const c = container(classes, Lifecycle.Singleton)
    const root = classes[shape.root]!
    c.resolve(root)
    return Promise.resolve(sync(() => c.resolve(root)))
  },
  transient(shape) {
    const classes = decorated(shape)
    const c = container(classes, Lifecycle.Transient)
    const root = classes[shape.root]!
    return Promise.resolve(sync(() => c.resolve(root)))
  },
  app(shape) {
    const classes = decorated(shape)
    const root = classes[shape.root]!
    return Promise.resolve(sync(() => container(classes, Lifecycle.Singleton).resolve(root)))
  },
}
