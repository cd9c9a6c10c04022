import { defineModule } from '@plinth/core'
import { changeDeviceSettings, provisionDevice } from './commands.js'
import { provisioningMigrations } from './migrations.js'
import { provisionedDevicesProjection } from './projection.js'
import { provisionedDeviceHandler, provisionedDevicesHandler } from './queries.js'
import { provisioningRoutes } from './rest.js'
import { provisioningSaga } from './saga.js'

/**
 * Device provisioning, event-sourced (@plinth/cqrs): each device is a stream of events on the
 * app's database; commands (provision, change settings) go through the command bus and append
 * with optimistic concurrency; a projection keeps the read model the queries answer from; and
 * provisioning itself is a saga (reserve, configure, notify) that undoes its steps in reverse
 * when one fails, and resumes after a crash.
 */
export default defineModule({
  id: 'provisioning',
  version: '1.0.0',
  components: [provisioningMigrations, provisionedDevicesProjection, provisioningSaga, provisionDevice, changeDeviceSettings, provisionedDeviceHandler, provisionedDevicesHandler, provisioningRoutes],
})
