import { EventSpy, component, createApp, isPlinthError } from '@plinth/core'

const stopped: string[] = []
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// #region rollback
const database = component('database', { create: () => ({}), stop: () => void stopped.push('database') })
const repository = component('repository', {
  deps: { database },
  create: () => ({}),
  stop: () => void stopped.push('repository'),
})
const mailer = component('mailer', {
  create: () => ({}),
  start: async () => {
    await wait(20)
    throw new Error('SMTP connection refused')
  },
})
const api = component('api', { eager: true, deps: { repository, mailer }, create: () => ({}), stop: () => void stopped.push('api') })

export const app = createApp({ name: 'shop', components: [database, repository, mailer, api] })
// #endregion

export async function main() {
  const spy = new EventSpy()
  app.events.subscribe(spy.listener)
  let message = 'started'
  // #region catch
  try {
    await app.start()
  } catch (error) {
    if (!isPlinthError(error, 'PLINTH_ERR_BOOT_FAILED')) throw error
    message = error.message // every failure; what had started was stopped again, in reverse
  }
  // #endregion
  return { message, stopped, state: app.state, events: spy.types().filter((type) => type.startsWith('roll')) }
}
