import { Container, component } from '@plinth/core'

const closed: number[] = []

// #region scoped
let opened = 0
const unitOfWork = component('unit-of-work', {
  lifetime: 'scoped', // one per active "request" scope, the default scope name
  create: () => ({ id: ++opened, changes: [] as string[] }),
  dispose: (uow) => void closed.push(uow.id), // runs when the scope ends
})

const orderRepository = component('order-repository', {
  lifetime: 'scoped',
  deps: { uow: unitOfWork },
  create: ({ uow }) => ({ add: (order: string) => uow.changes.push(order) }),
})
// #endregion

export async function main() {
  const container = new Container([unitOfWork, orderRepository])

  // #region run-in-scope
  const handle = (order: string) =>
    container.runInScope('request', async () => {
      container.get(orderRepository).add(order)
      await new Promise((resolve) => setTimeout(resolve, 10)) // the scope follows the request across awaits
      return container.get(unitOfWork) // the same unit of work the repository got
    })

  const [first, second] = await Promise.all([handle('order-1'), handle('order-2')])
  // first.changes is ['order-1'], second.changes is ['order-2']; both were disposed on the way out
  // #endregion

  let outside = ''
  try {
    // #region no-scope
    container.get(orderRepository) // outside any scope
    // #endregion
  } catch (error) {
    outside = (error as Error).message
  }
  await container.dispose()
  return { first, second, closed: [...closed], outside }
}
