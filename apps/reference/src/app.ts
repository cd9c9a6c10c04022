import { component, createApp } from '@plinth/core'
import { AppConfig } from './config.js'
import greetings, { greeter } from './modules/greetings/module.js'

/** Says hello once the service is up: an eager component with a start and a stop hook. */
const announcer = component('announcer', {
  eager: true,
  deps: { greeter },
  create: ({ greeter }) => ({ message: greeter.greet('Plinth') }),
  start: (self, { log }) => log.info(self.message),
  stop: (_self, { log }) => log.info('goodbye'),
})

/**
 * The reference service. Importing this module has no side effects: `main.ts` (or the `plinth`
 * command) runs it.
 */
export const app = createApp({
  name: 'reference',
  version: '0.1.0',
  config: AppConfig,
  modules: [greetings],
  components: [announcer],
})
