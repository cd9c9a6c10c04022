import { Container, component } from '@plinth/core'

const connect = (url: string) => Promise.resolve({ url, query: (sql: string) => `${sql} on ${url}` })

// #region async
const database = component('database', {
  create: () => connect('postgres://localhost/orders'), // returns a promise
})
const orders = component('orders', {
  deps: { database }, // receives the connected database, not a promise
  create: ({ database }) => ({ list: () => database.query('select * from orders') }),
})
// #endregion

export async function main() {
  const container = new Container([database, orders])
  let refused = ''
  try {
    // #region get
    container.get(orders) // throws PLINTH_ERR_ASYNC_PROVIDER: database is not built yet
    // #endregion
  } catch (error) {
    refused = (error as Error).message
  }
  // #region resolve
  const list = (await container.resolve(orders)).list() // awaits database, then builds orders
  const again = container.get(orders) // built now, so get works
  // #endregion
  const same = again === (await container.resolve(orders))
  await container.dispose()
  return { refused, list, same }
}
