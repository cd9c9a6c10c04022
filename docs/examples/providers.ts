import { Container, component, provide, token } from '@plinth/core'

interface Clock {
  now(): number
}
const Clock = token('clock').of<Clock>()

// #region value
const fixedClock = provide(Clock, { value: { now: () => 1_700_000_000_000 } })
// #endregion

// #region create
const ids = component('ids', {
  deps: { clock: Clock },
  create: ({ clock }) => {
    let n = 0
    return { next: () => `${clock.now()}-${++n}` }
  },
})
// #endregion

// #region class
class OrderService {
  readonly #deps: { ids: { next(): string }; clock: Clock }

  constructor(deps: { ids: { next(): string }; clock: Clock }) {
    this.#deps = deps
  }

  place(item: string) {
    return { id: this.#deps.ids.next(), item, at: this.#deps.clock.now() }
  }
}

const orders = component('orders', { deps: { ids, clock: Clock }, class: OrderService })
// #endregion

const fetchRates = (): Promise<Record<string, number>> => Promise.resolve({ USD: 1.1, GBP: 0.85 })

// #region async
const exchangeRates = component('exchange-rates', {
  create: async () => {
    const rates = await fetchRates() // awaited once; every dependent gets the built value
    return { fromEuro: (amount: number, currency: string) => amount * (rates[currency] ?? Number.NaN) }
  },
})
// #endregion

export async function main() {
  // #region use
  await using container = new Container([fixedClock, ids, orders, exchangeRates])
  const order = container.get(orders).place('teapot') // { id: '1700000000000-1', item: 'teapot', ... }
  const rates = await container.resolve(exchangeRates) // an async factory: resolve, not get
  // #endregion
  return { order, dollars: rates.fromEuro(10, 'USD') }
}
