import { createInjector, Scope, type Injector } from 'typed-inject'
import { nameOf, positionalClass } from '../classes.js'
import type { GraphShape } from '../graphs.js'
import { sync, type Library } from './library.js'

/** typed-inject's idiom: `static inject = ['n3', 'n7'] as const` and one provideClass per token. */
function injectables(shape: GraphShape) {
  return shape.deps.map((deps) => Object.assign(positionalClass(deps.length), { inject: deps.map(nameOf) }))
}

/** Each provideClass returns a child injector that can also resolve the new token. */
function injector(classes: ReturnType<typeof injectables>, scope: Scope): Injector<any> {
  let current: Injector<any> = createInjector()
  classes.forEach((Class, i) => {
    current = current.provideClass(nameOf(i), Class as never, scope)
  })
  return current
}

export const typedInject: Library = {
  name: 'typed-inject',
  warmSingleton(shape) {
    const root = injector(injectables(shape), Scope.Singleton)
    const token = nameOf(shape.root)
    root.resolve(token)
    return Promise.resolve(sync(() => root.resolve(token)))
  },
  transient(shape) {
    const root = injector(injectables(shape), Scope.Transient)
    const token = nameOf(shape.root)
    return Promise.resolve(sync(() => root.resolve(token)))
  },
  app(shape) {
    const classes = injectables(shape)
    const token = nameOf(shape.root)
    return Promise.resolve(sync(() => injector(classes, Scope.Singleton).resolve(token)))
  },
}
