import { join, resolve } from 'node:path'
import { Logger, component } from '@plinth/core'
import { PluginHost, pluginHealth } from '@plinth/plugins'
import { AppConfig } from '../../config.js'

/**
 * The service's plugin host: plugins from `plugins.dir` (the samples in apps/reference/plugins
 * by default), each with a data folder under `<dataDir>/plugins/<id>`. A plugin that fails never
 * stops the service; /health shows it as `plugins`, degraded, with the reason.
 */
export const plugins = component('plugins', {
  eager: true,
  deps: { config: AppConfig, log: Logger },
  create: ({ config, log }) =>
    new PluginHost({
      dirs: [resolve(config.plugins.dir)],
      dataDir: join(resolve(config.dataDir), 'plugins'),
      trusted: config.plugins.trusted,
      limits: { callTimeout: config.plugins.callTimeout },
      log: log.child({ component: 'plugins' }),
    }),
  start: (host) => host.start(),
  stop: (host) => host.stop(),
  health: (host) => pluginHealth(host),
})
