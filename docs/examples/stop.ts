import { component, createApp } from '@plinth/core'

const order: string[] = []

// #region stop
const database = component('database', { create: () => ({}), stop: () => void order.push('database') })
const worker = component('worker', {
  deps: { database },
  create: () => ({}),
  stopTimeout: 100, // milliseconds; default 10 000
  stop: (_worker, { signal }) =>
    new Promise<void>(() => {
      // a job that never finishes; the signal fires at the stop deadline
      signal.addEventListener('abort', () => void order.push('worker gave up'))
    }),
})
const server = component('http-server', {
  eager: true,
  deps: { database, worker },
  create: () => ({}),
  stop: () => void order.push('http-server'),
})

export const app = createApp({
  name: 'orders',
  components: [database, worker, server],
  shutdown: { drainDelay: 0, timeout: 5_000 }, // the deadline for the whole stop
})
// #endregion

export async function main() {
  await app.start()
  // #region report
  const report = await app.stop('deploy')
  // report.failures: [{ component: 'worker', error: PLINTH_ERR_STOP_TIMEOUT ... }]
  // report.unfinished: [] (nothing was still stopping at the 5 s deadline)
  // #endregion
  return {
    order,
    failures: report.failures.map((failure) => `${failure.component}: ${String(failure.error)}`),
    unfinished: report.unfinished,
    state: app.state,
  }
}
