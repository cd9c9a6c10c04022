import { Container, inject, injectable } from 'inversify'
import { positionalClass, type PositionalClass } from '../classes.js'
import type { GraphShape } from '../graphs.js'
import { sync, type Library } from './library.js'

/**
 * inversify's idiom: `@injectable() class A { constructor(@inject(B) b: B) {} }`, one binding per
 * class. The decorators are applied as functions (what `@` compiles to), with explicit tokens, so
 * no emitted design:paramtypes metadata is needed.
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

function container(classes: readonly PositionalClass[], scope: 'singleton' | 'transient'): Container {
  const c = new Container()
  for (const Class of classes) {
    const binding = c.bind(Class).toSelf()
    if (scope === 'singleton') binding.inSingletonScope()
    else binding.inTransientScope()
  }
  return c
}

export const inversify: Library = {
  name: 'inversify',
  warmSingleton(shape) {
    const classes = decorated(shape)
    const c = container(classes, 'singleton')
    const root = classes[shape.root]!
    c.get(root)
    return Promise.resolve(sync(() => c.get(root)))
  },
  transient(shape) {
    const classes = decorated(shape)
    const c = container(classes, 'transient')
    const root = classes[shape.root]!
    return Promise.resolve(sync(() => c.get(root)))
  },
  app(shape) {
    const classes = decorated(shape)
    const root = classes[shape.root]!
    return Promise.resolve(sync(() => container(classes, 'singleton').get(root)))
  },
}
