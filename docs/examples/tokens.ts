import { Container, provide, token } from '@plinth/core'

// #region tokens
export interface Clock {
  now(): Date
}
// The name identifies the token in errors and in `plinth graph`; the type is for the compiler.
export const Clock = token('clock').of<Clock>()

export interface OrderRule {
  readonly name: string
  check(order: { total: number }): string | undefined
}
// A multi token: any number of providers contribute, and it resolves to all of them.
export const OrderRules = token('order-rules').many<OrderRule>()
// #endregion

// #region provide
const systemClock = provide(Clock, { value: { now: () => new Date() } })
// #endregion

export async function main() {
  // #region resolve
  await using container = new Container([systemClock])
  const clock = container.get(Clock) // typed as Clock
  const rules = container.get(OrderRules) // readonly OrderRule[]; empty, as nothing contributes
  // #endregion
  return { now: clock.now(), rules }
}
