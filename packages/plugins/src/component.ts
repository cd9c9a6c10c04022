/**
 * The plugin host as a Plinth component: plugins start with the app (after what they build on),
 * stop before it, and show in /health with their state and metrics.
 */
import { Logger, component, type HealthResult } from '@plinth/core'
import type { PluginHostOptions } from './host-options.js'
import { PluginHost } from './plugin-host.js'

/**
 * The plugin host's health: `up` while every plugin that should run is active, `degraded` when
 * one failed, is restarting or was excluded (the app keeps serving without it), with every
 * plugin's state and metrics in the details.
 *
 * @example
 * component('plugins', { create: () => host, health: (host) => pluginHealth(host) })
 */
export function pluginHealth(host: PluginHost): HealthResult {
  const plugins = host.status()
  const troubled = plugins.filter((p) => p.state === 'failed' || p.state === 'restarting' || p.state === 'excluded' || p.state === 'loading')
  return {
    status: troubled.length === 0 ? 'up' : 'degraded',
    details: {
      isolation: host.isolation,
      plugins: Object.fromEntries(plugins.map(({ id, ...rest }) => [id, rest])),
    },
  }
}

/**
 * A component that runs a PluginHost: started with the app, stopped before it, its health at
 * /health as "plugins". A plugin that fails never fails the app.
 *
 * @example
 * export const app = createApp({
 *   name: 'shop',
 *   components: [pluginHost({ dirs: ['./plugins'], dataDir: './data/plugins', trusted: ['pricing'] })],
 * })
 */
export function pluginHost(options: Omit<PluginHostOptions, 'log'>) {
  return component('plugins', {
    eager: true,
    deps: { log: Logger },
    create: ({ log }) => new PluginHost({ ...options, log: log.child({ component: 'plugins' }) }),
    start: (host) => host.start(),
    stop: (host) => host.stop(),
    health: (host) => pluginHealth(host),
  })
}
