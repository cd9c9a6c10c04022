/** The catalogue of `@plinth/plugins`: every error a plugin, its manifest or the catalogue can raise. */
import { defineErrors } from '@plinth/core'

/**
 * The error codes of `@plinth/plugins`, each with what to do next.
 *
 * @example
 * import { pluginErrors } from '@plinth/plugins'
 * if (pluginErrors.is(err, 'PLINTH_ERR_PLUGIN_REFUSED')) console.warn('a plugin asked beyond its grants')
 */
export const pluginErrors = defineErrors('@plinth/plugins', {
  PLINTH_ERR_PLUGIN_MANIFEST: {
    title: 'Invalid plugin manifest',
    hint: 'Fix each listed field of the plugin.json named; the plugin is excluded until then.',
  },
  PLINTH_ERR_PLUGIN_DISCOVERY: {
    title: 'A plugins folder could not be read',
    hint: 'Check that the folder exists and is readable, or remove it from the discovery options.',
  },
  PLINTH_ERR_PLUGIN_UNSAFE_FILES: {
    title: 'A plugin folder holds links',
    hint: 'Remove symbolic and hard links from the plugin folder: Node\'s permission model follows them out of the folder, so a plugin with links is never loaded.',
  },
  PLINTH_ERR_PLUGIN_DEPENDENCY: {
    title: 'A plugin dependency is missing, excluded, incompatible or circular',
    hint: 'Install or fix the plugin named, or change the dependencies range in the plugin.json of the plugin that needs it.',
  },
  PLINTH_ERR_PLUGIN_DUPLICATE: {
    title: 'Two plugins share one id',
    hint: 'Keep one of the two folders named, or give one plugin another id.',
  },
  PLINTH_ERR_PLUGIN_UNTRUSTED: {
    title: 'A plugin asks for the system level without being trusted',
    hint: 'System plugins run inside the host process; list the plugin id in the host\'s `trusted` option if you vouch for its code, or lower its level.',
  },
  PLINTH_ERR_PLUGIN_INCOMPATIBLE: {
    title: 'A plugin does not support this Plinth version',
    hint: 'Install a version of the plugin whose "plinth" range includes this Plinth version.',
  },
  PLINTH_ERR_PLUGIN_REFUSED: {
    title: 'A plugin asked for a capability it was not granted',
    hint: 'The plugin\'s level and manifest do not grant this; raise its level or add the capability (and hosts) to its plugin.json if you trust it with that.',
    status: 403,
  },
  PLINTH_ERR_PLUGIN_TIMEOUT: {
    title: 'A plugin did not answer in time',
    hint: 'The plugin process was stopped and is restarted; raise the plugin\'s limits.callTimeout if the work is legitimately slow.',
    status: 504,
  },
  PLINTH_ERR_PLUGIN_CRASHED: {
    title: 'A plugin process stopped',
    hint: 'The reason is in the message (exit, memory limit, message flood); the host restarts it up to its restart limit, then disables it.',
    status: 503,
  },
  PLINTH_ERR_PLUGIN_NOT_ACTIVE: {
    title: 'A plugin is not active',
    hint: 'Enable the plugin (`plinth plugins enable ID` or host.enable(id)); /health lists why it is not active.',
    status: 503,
  },
  PLINTH_ERR_PLUGIN_NOT_FOUND: {
    title: 'No such plugin or handler',
    hint: 'Check the plugin id and the handler name against `plinth plugins list` and the plugin\'s exports.',
    status: 404,
  },
  PLINTH_ERR_PLUGIN_CALL_FAILED: {
    title: 'A plugin handler threw',
    hint: 'The plugin\'s own error is in the message; the plugin stays active. Fix the plugin or its input.',
    status: 502,
  },
  PLINTH_ERR_PLUGIN_LIFECYCLE: {
    title: 'A plugin failed to load, activate or deactivate',
    hint: 'The plugin was disabled; read the cause, fix the plugin, then enable or reload it.',
  },
  PLINTH_ERR_PLUGIN_INVALID_MESSAGE: {
    title: 'A plugin sent a message the host does not accept',
    hint: 'Plugins talk to the host only through the API they are given; a malformed, oversized or forged message is refused.',
    status: 400,
  },
  PLINTH_ERR_PLUGIN_CHECKSUM: {
    title: 'A plugin archive does not match its sha256',
    hint: 'The archive is not the one published: get it again from its source, or correct the sha256 you passed. Nothing was installed.',
    status: 400,
  },
  PLINTH_ERR_PLUGIN_INSTALL: {
    title: 'A plugin could not be installed',
    hint: 'Read the reason: the source must be a folder or a .tgz holding a valid plugin.json, with only files and folders (no links, no absolute paths).',
    status: 400,
  },
  PLINTH_ERR_PLUGIN_VERSION: {
    title: 'A catalogue operation names a version it cannot use',
    hint: 'Use `plinth plugins list` to see the installed versions; upgrading to an older version needs --force, and rolling back needs a previous version.',
    status: 409,
  },
})

/** Every code of the plugins catalogue. */
export type PluginErrorCode = keyof typeof pluginErrors.entries
