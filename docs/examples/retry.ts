import { EventSpy, component, createApp, retry } from '@plinth/core'

let refusals = 2
const connectBroker = (): Promise<{ publish(topic: string): void }> =>
  refusals-- > 0 ? Promise.reject(new Error('ECONNREFUSED 127.0.0.1:4222')) : Promise.resolve({ publish: () => {} })

// #region retry
const broker = component('broker', {
  eager: true,
  create: () => ({ connection: undefined as { publish(topic: string): void } | undefined }),
  start: async (broker, { attempt, log }) => {
    log.info(`connecting, attempt ${attempt}`)
    broker.connection = await connectBroker()
  },
  retry: { attempts: 5, initialDelay: 50, maxDelay: 2_000 }, // or retry: 5
})
// #endregion

export const app = createApp({ name: 'events', components: [broker] })

export async function main() {
  const spy = new EventSpy()
  app.events.subscribe(spy.listener)
  await app.start()
  await app.stop()

  refusals = 1
  const retries: string[] = []
  // #region helper
  const connection = await retry(() => connectBroker(), { attempts: 3, initialDelay: 10 }, {
    onRetry: (error, attempt, delay) => retries.push(`attempt ${attempt} failed (${String(error)}); next in ${delay} ms`),
  })
  // #endregion
  return {
    attempts: spy.of('component-started')[0]?.attempts,
    failures: spy.of('component-failed').map((event) => ({ attempt: event.attempt, willRetry: event.retryIn !== undefined })),
    connected: typeof connection.publish === 'function',
    retries: retries.length,
  }
}
