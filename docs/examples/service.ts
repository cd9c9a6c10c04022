// A service entry point. The docs test runs it as a real process and sends it signals.
import { component, createApp, run } from '@plinth/core'

// #region service
const database = component('database', {
  create: () => ({ open: false }),
  start: (db, { log }) => {
    db.open = true
    log.info('database open')
  },
  stop: (db, { log }) => {
    db.open = false
    log.info('database closed')
  },
})

const server = component('http-server', {
  eager: true,
  deps: { database },
  create: () => ({}),
  start: (_server, { log }) => log.info('listening on 8000'),
  stop: (_server, { log }) => log.info('in-flight requests finished; port closed'),
})

export const app = createApp({
  name: 'orders',
  components: [database, server],
  shutdown: {
    drainDelay: 500, // readiness is false at once; wait this long before stopping anything
    timeout: 10_000, // everything must have stopped 10 s after the signal
  },
})

await run(app) // `node main.js`, `node main.js check`, `node main.js graph`
// #endregion
