import { Logger, component, defineModule } from '@plinth/core'
import { AppConfig } from '../../config.js'

/** Greets by name, in the configured words. A module's components are plain providers. */
export const greeter = component('greeter', {
  deps: { config: AppConfig, log: Logger },
  create: ({ config, log }) => ({
    greet(name: string): string {
      log.debug({ name }, 'greeting')
      return `${config.greeting}, ${name}!`
    },
  }),
})

export default defineModule({
  id: 'greetings',
  version: '1.0.0',
  components: [greeter],
})
