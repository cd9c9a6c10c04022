import { Container, component, provide, token } from '@plinth/core'

interface Clock {
  now(): number
}

export async function main() {
  try {
    // #region problem
    const Clock = token('clock').of<Clock>() // clock.ts
    const systemClock = provide(Clock, { value: { now: () => Date.now() } })

    const BillingClock = token('clock').of<Clock>() // billing.ts: declared again instead of imported
    const billing = component('billing', { deps: { clock: BillingClock }, create: ({ clock }) => clock.now() })

    await using container = new Container([systemClock, billing])
    // #endregion
    return `no error: ${container.has(billing)}`
  } catch (error) {
    return (error as Error).message
  }
}
