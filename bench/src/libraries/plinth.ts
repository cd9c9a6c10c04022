import { component, Container, type Lifetime, type Provider } from '@plinth/core'
import { nameOf, objectClass } from '../classes.js'
import type { GraphShape } from '../graphs.js'
import { sync, type Library } from './library.js'

/** One component per node, its deps object keyed d0, d1, ... in the node's dependency order. */
export function plinthComponents(shape: GraphShape, lifetime: Lifetime): Provider<object>[] {
  const components: Provider<object>[] = []
  shape.deps.forEach((deps, i) => {
    const depMap = Object.fromEntries(deps.map((d, k) => [`d${k}`, components[d]!]))
    components.push(component(nameOf(i), { deps: depMap, class: objectClass(deps.length), lifetime }))
  })
  return components
}

export const plinth: Library = {
  name: 'Plinth',
  warmSingleton(shape) {
    const components = plinthComponents(shape, 'singleton')
    const container = new Container(components)
    const root = components[shape.root]!
    container.get(root)
    return Promise.resolve(sync(() => container.get(root)))
  },
  transient(shape) {
    const components = plinthComponents(shape, 'transient')
    const container = new Container(components)
    const root = components[shape.root]!
    return Promise.resolve(sync(() => container.get(root)))
  },
  app(shape) {
    const components = plinthComponents(shape, 'singleton')
    const root = components[shape.root]!
    return Promise.resolve(sync(() => new Container(components).get(root)))
  },
}
