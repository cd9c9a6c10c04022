import { asClass, createContainer, InjectionMode, Lifetime, type AwilixContainer, type LifetimeType, type Resolver } from 'awilix'
import { cradleClass, nameOf } from '../classes.js'
import type { GraphShape } from '../graphs.js'
import { sync, type Library } from './library.js'

/** awilix's idiom: PROXY injection mode (`constructor({ n3, n7 })`), one asClass registration per name. */
function container(classes: ReturnType<typeof cradleClasses>, lifetime: LifetimeType): AwilixContainer {
  const c = createContainer({ injectionMode: InjectionMode.PROXY })
  const registrations: Record<string, Resolver<object>> = {}
  classes.forEach((Class, i) => {
    registrations[nameOf(i)] = asClass(Class).setLifetime(lifetime)
  })
  c.register(registrations)
  return c
}

const cradleClasses = (shape: GraphShape) => shape.deps.map((deps) => cradleClass(deps.map(nameOf)))

export const awilix: Library = {
  name: 'awilix',
  warmSingleton(shape) {
    const c = container(cradleClasses(shape), Lifetime.SINGLETON)
    const token = nameOf(shape.root)
    c.resolve(token)
    return Promise.resolve(sync(() => c.resolve(token)))
  },
  transient(shape) {
    const c = container(cradleClasses(shape), Lifetime.TRANSIENT)
    const token = nameOf(shape.root)
    return Promise.resolve(sync(() => c.resolve(token)))
  },
  app(shape) {
    const classes = cradleClasses(shape)
    const token = nameOf(shape.root)
    return Promise.resolve(sync(() => container(classes, Lifetime.SINGLETON).resolve(token)))
  },
}
