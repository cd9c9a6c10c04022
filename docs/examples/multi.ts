import { Container, component, provide, token } from '@plinth/core'

// #region multi
interface Route {
  readonly method: 'GET' | 'POST'
  readonly path: string
}
const Routes = token('routes').many<Route>()

const healthRoute = provide(Routes, { value: { method: 'GET', path: '/health' } })
const orderRoute = provide(Routes, { value: { method: 'POST', path: '/orders' } })

const router = component('router', {
  deps: { routes: Routes }, // readonly Route[], in registration order
  create: ({ routes }) => routes.map((route) => `${route.method} ${route.path}`),
})
// #endregion

export async function main() {
  await using container = new Container([healthRoute, orderRoute, router])
  await using empty = new Container([router])
  return { table: container.get(router), none: empty.get(router) }
}
