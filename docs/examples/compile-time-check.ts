import { PlinthError, component, createApp, provide, token } from '@plinth/core'

interface Clock {
  now(): Date
}
const Clock = token('clock').of<Clock>()

const invoices = component('invoices', {
  eager: true,
  deps: { clock: Clock },
  create: ({ clock }) => ({ date: () => clock.now().toISOString().slice(0, 10) }),
})

// #region missing
// @ts-expect-error -- Property ''missing providers'' is missing in type ... but required in type '{ readonly 'missing providers': "clock"; }'
export const broken = createApp({ name: 'billing', components: [invoices] })
// #endregion

// #region fixed
const systemClock = provide(Clock, { value: { now: () => new Date() } })
export const app = createApp({ name: 'billing', components: [systemClock, invoices] })
// #endregion

export async function main() {
  // Forced past the compiler, the same graph fails validation when it starts.
  const message = await broken.start().then(
    () => 'started',
    (error: unknown) => (error instanceof PlinthError ? error.message : String(error)),
  )
  return { message, state: broken.state }
}
