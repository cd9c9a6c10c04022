import { defineModule } from '@plinth/core'
import { pluginHost, plugins } from './components.js'
import { pluginRoutes } from './rest.js'

/**
 * Plugins (design document 001): discovered from the plugins folder, a trusted unit converter
 * for telemetry readings running in process and an untrusted word filter for conversation
 * messages running sandboxed; REST under /api/v1/plugins. Not required: without plugins the
 * service still serves everything else.
 */
export default defineModule({
  id: 'plugins',
  version: '1.0.0',
  components: [pluginHost, plugins, pluginRoutes],
})
