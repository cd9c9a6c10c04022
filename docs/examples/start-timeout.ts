import { PlinthError, component, createApp } from '@plinth/core'

let abortedWith = ''

/** A connection attempt that never answers, but gives up when its signal fires. */
function connect(signal: AbortSignal): Promise<void> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => {
      abortedWith = String(signal.reason)
      reject(signal.reason as Error)
    })
  })
}

// #region timeout
const searchIndex = component('search-index', {
  eager: true,
  startTimeout: 50, // milliseconds for create + start, per attempt; default 30 000
  create: () => ({ connect }),
  start: (index, { signal }) => index.connect(signal), // signal fires at the deadline
})

export const app = createApp({
  name: 'catalogue',
  components: [searchIndex],
  lifecycle: { startTimeout: 10_000, stopTimeout: 5_000 }, // defaults for components that set none
})
// #endregion

export async function main() {
  const message = await app.start().then(
    () => 'started',
    (error: unknown) => (error instanceof PlinthError ? error.message : String(error)),
  )
  return { message, abortedWith }
}
