import { join, resolve } from 'node:path'
import { Logger, component } from '@plinth/core'
import { PluginHost, pluginHealth } from '@plinth/plugins'
import { AppConfig } from '../../config.js'

/**
 * The service's plugin host, built but not started: plugins from `plugins.dir` (the samples in
 * apps/reference/plugins by default), each with a data folder under `<dataDir>/plugins/<id>`.
 * The REST routes hold this one, so the HTTP server does not wait for the sandboxed plugins to
 * start (a child process, or a worker, of its own): calls before then answer that the plugin
 * is not there yet, while the service is not ready. It stops after everything that uses it,
 * the HTTP server's drain included.
 */
export const pluginHost = component('plugin-host', {
  deps: { config: AppConfig, log: Logger },
  create: ({ config, log }) =>
    new PluginHost({
      dirs: [resolve(config.plugins.dir)],
      dataDir: join(resolve(config.dataDir), 'plugins'),
      trusted: config.plugins.trusted,
      limits: { callTimeout: config.plugins.callTimeout },
      log: log.child({ component: 'plugins' }),
    }),
  stop: (host) => host.stop(),
})

/**
 * The plugin host started: its plugins discovered and loaded, concurrently with the servers. A
 * plugin that fails never stops the service; /health shows it as `plugins`, degraded, with the
 * reason.
 */
export const plugins = component('plugins', {
  eager: true,
  deps: { host: pluginHost },
  create: ({ host }) => host,
  start: (host) => host.start(),
  health: (host) => pluginHealth(host),
})
