import type { Bus, Topic } from '@plinth/messaging'

/**
 * Subscribes a handler that only counts (concurrency 256) and returns `handled(count)`: a
 * promise of the next `count` messages handled and acknowledged. The bus rows of
 * bench/src/messaging.ts all measure publish-to-handled this way.
 */
export async function countHandled<T>(bus: Bus, topic: Topic<T>): Promise<(count: number) => Promise<void>> {
  let handled = 0
  let target = 0
  let done: () => void = () => {}
  await bus.subscribe(topic, () => {
    if (++handled === target) done()
  }, { group: 'bench', concurrency: 256 })
  return (count) => {
    handled = 0
    target = count
    return new Promise<void>((resolve) => (done = resolve))
  }
}
