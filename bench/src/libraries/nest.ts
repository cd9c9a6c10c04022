import 'reflect-metadata'
import { Inject, Injectable, Module, Scope, type INestApplicationContext } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { positionalClass, type PositionalClass } from '../classes.js'
import type { GraphShape } from '../graphs.js'
import { async, sync, type Library } from './library.js'

/**
 * NestJS's idiom: `@Injectable() class A { constructor(@Inject(B) b: B) {} }` providers in one
 * `@Module`. The decorators are applied as functions (what `@` compiles to), with explicit tokens,
 * so no emitted design:paramtypes metadata is needed.
 */
function decorated(shape: GraphShape, scope: Scope): PositionalClass[] {
  const classes: PositionalClass[] = []
  shape.deps.forEach((deps) => {
    const Class = positionalClass(deps.length)
    deps.forEach((d, k) => Inject(classes[d])(Class, undefined, k))
    Injectable({ scope })(Class)
    classes.push(Class)
  })
  return classes
}

function moduleOf(classes: readonly PositionalClass[]): new () => object {
  class BenchModule {}
  Module({ providers: [...classes] })(BenchModule)
  return BenchModule
}

const createContext = (module: new () => object): Promise<INestApplicationContext> =>
  NestFactory.createApplicationContext(module, { logger: false, abortOnError: false })

export const nest: Library = {
  name: 'NestJS',
  async warmSingleton(shape) {
    const classes = decorated(shape, Scope.DEFAULT)
    const context = await createContext(moduleOf(classes))
    const root = classes[shape.root]!
    context.get(root)
    return sync(() => context.get(root))
  },
  async transient(shape) {
    const classes = decorated(shape, Scope.TRANSIENT)
    const context = await createContext(moduleOf(classes))
    const root = classes[shape.root]!
    // get() refuses transient providers; resolve() builds a fresh instance per call.
    return async(() => context.resolve(root))
  },
  app(shape) {
    const classes = decorated(shape, Scope.DEFAULT)
    const module = moduleOf(classes)
    const root = classes[shape.root]!
    return Promise.resolve(async(async () => (await createContext(module)).get(root)))
  },
}
