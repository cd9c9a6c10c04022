import { Container, component } from '@plinth/core'

// #region lifetimes
const settings = component('settings', {
  create: () => ({ currency: 'EUR' }), // lifetime: 'singleton' is the default
})

const basket = component('basket', {
  lifetime: 'transient', // a new basket for every resolve
  deps: { settings },
  create: ({ settings }) => ({ currency: settings.currency, items: [] as string[] }),
})
// #endregion

export async function main() {
  await using container = new Container([settings, basket])
  return {
    sameSettings: container.get(settings) === container.get(settings),
    sameBasket: container.get(basket) === container.get(basket),
    sharedSettings: container.get(basket).currency === container.get(settings).currency,
  }
}
