/**
 * One in-memory bus contender of bench/src/messaging.ts, in a worker thread of its own: the two
 * settings of the memory broker (copying or not) share every function of the bus, and measured
 * in one thread the first one's type feedback slowed the second by half or more, which says
 * more about V8 than about either setting. The main thread waits meanwhile, so the process CPU
 * time measured here is this contender's (its GC threads included).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Container, provide, token } from '@plinth/core'
import { Bus, MemoryBroker, topic } from '@plinth/messaging'
import { countHandled } from './messaging-count.js'

const { n, rounds, copy, scoped } = workerData as { n: number; rounds: number; copy: boolean; scoped: boolean }
const payload = { device: 'thermo-1', value: 21.5 }
// With `scoped`, the app has a provider in the "message" scope: each handler runs in a scope of its own.
const PerMessage = token('per-message').of<{ n: number }>()
const container = scoped ? new Container([provide(PerMessage, { lifetime: 'scoped', scope: 'message', create: () => ({ n: 1 }) })]) : undefined
const bus = new Bus({ broker: new MemoryBroker({ capacity: 100_000, copy }), container })
await bus.start()
const Reading = topic('bench.reading').of<typeof payload>()
const handled = await countHandled(bus, Reading)

const run = async (count: number) => {
  const finished = handled(count)
  // Publishes are awaited in windows of 1,024, as a producer that respects back-pressure does.
  let window: Promise<unknown>[] = []
  for (let i = 0; i < count; i++) {
    window.push(bus.publish(Reading, payload))
    if (window.length === 1024) {
      await Promise.all(window)
      window = []
    }
  }
  await Promise.all(window)
  await finished
}

await run(n / 10)
const rates: number[] = []
for (let round = 0; round < rounds; round++) {
  const started = process.cpuUsage()
  await run(n)
  const used = process.cpuUsage(started)
  rates.push(n / ((used.user + used.system) / 1e6))
}
await bus.stop()
parentPort!.postMessage(rates)
