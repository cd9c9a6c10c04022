import { Container, accessor, provide, token } from '@plinth/core'

interface Orders {
  place(item: string): string
}
interface Payments {
  charge(orderId: string): string
}
interface Ledger {
  record(entry: string): string
}
const Orders = token('orders').of<Orders>()
const Payments = token('payments').of<Payments>()
const Ledger = token('ledger').of<Ledger>()

// #region providers
const orders = provide(Orders, {
  deps: { payments: Payments },
  create: ({ payments }) => ({ place: (item: string) => payments.charge(`order for ${item}`) }),
})
const payments = provide(Payments, {
  deps: { ledger: Ledger },
  create: ({ ledger }) => ({ charge: (orderId: string) => ledger.record(`charged ${orderId}`) }),
})
// #endregion

export async function main() {
  let message = 'no error'
  try {
    // #region problem
    const ledger = provide(Ledger, {
      deps: { orders: Orders }, // the ledger looks orders up: orders -> payments -> ledger -> orders
      create: () => ({ record: (entry: string) => entry }),
    })
    await using container = new Container([orders, payments, ledger])
    // #endregion
    void container
  } catch (error) {
    message = (error as Error).message
  }

  // #region fix
  const ledger = provide(Ledger, {
    deps: { orders: accessor(Orders) }, // () => Orders, resolved on use: no longer a construction cycle
    create: ({ orders }) => ({ record: (entry: string) => `${entry} (${typeof orders().place})` }),
  })
  await using container = new Container([orders, payments, ledger])
  container.get(Orders).place('teapot') // 'charged order for teapot (function)'
  // #endregion
  return { message, fixed: container.get(Orders).place('teapot') }
}
