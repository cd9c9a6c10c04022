/**
 * `plinth plugins list | install | upgrade | enable | disable | rollback | remove`: the local
 * catalogue from the command line. It changes what the next start (or a reload) loads; a
 * running service is changed through its PluginHost (enable, disable, reload).
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ExitCode, defineCommand, type CommandContext, reportError } from '@plinth/core'
import { PluginCatalogue } from './catalogue.js'

const usage = [
  'plinth plugins list',
  'plinth plugins install <folder|archive.tgz> [--sha256 HEX] [--force]',
  'plinth plugins upgrade <folder|archive.tgz> [--sha256 HEX]',
  'plinth plugins enable|disable|rollback|remove <id>',
  '  --catalogue DIR   the catalogue folder (default: $PLUGINS_DIR, else $DATA_DIR/plugins, else ./data/plugins)',
].join('\n')

/**
 * Runs `plinth plugins ...`; resolves to the exit code.
 *
 * @example
 * process.exitCode = await pluginsCommand({ app, args: ['list'], out: console.log, err: console.error })
 */
export async function pluginsCommand({ args, out, err }: Pick<CommandContext, 'args' | 'out' | 'err'>): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args, options: { catalogue: { type: 'string' }, sha256: { type: 'string' }, force: { type: 'boolean' } }, allowPositionals: true })
  } catch (error) {
    err(`${(error as Error).message}\nusage:\n${usage}`)
    return ExitCode.usage
  }
  const { values, positionals } = parsed
  const [action, target] = positionals
  const dir = values.catalogue ?? process.env.PLUGINS_DIR ?? join(process.env.DATA_DIR ?? './data', 'plugins')
  const catalogue = new PluginCatalogue(dir)
  const needsTarget = ['install', 'upgrade', 'enable', 'disable', 'rollback', 'remove']
  if (action !== 'list' && !needsTarget.includes(action ?? '')) {
    err(`plinth plugins needs one of list, ${needsTarget.join(', ')}; got ${action === undefined ? 'nothing' : `"${action}"`}\nusage:\n${usage}`)
    return ExitCode.usage
  }
  if (action !== 'list' && target === undefined) {
    err(`plinth plugins ${action} needs ${action === 'install' || action === 'upgrade' ? 'a folder or an archive' : 'a plugin id'}\nusage:\n${usage}`)
    return ExitCode.usage
  }
  try {
    switch (action) {
      case 'list': {
        const plugins = await catalogue.list()
        if (plugins.length === 0) out(`no plugins in ${dir}`)
        for (const p of plugins) {
          out(`${p.id.padEnd(24)} ${p.version.padEnd(10)} ${(p.enabled ? 'enabled' : 'disabled').padEnd(9)} ${p.level.padEnd(10)} versions ${p.versions.join(', ')}${p.previous ? ` (rollback to ${p.previous})` : ''}`)
        }
        return ExitCode.ok
      }
      case 'install':
      case 'upgrade': {
        const result = await catalogue.install(target!, { ...(values.sha256 ? { sha256: values.sha256 } : {}), force: values.force === true })
        if (action === 'upgrade' && result.action === 'installed') out(`note: "${result.id}" was not installed before`)
        out(`${result.action} ${result.id} ${result.version}${result.previous ? ` (was ${result.previous}; plinth plugins rollback ${result.id} returns to it)` : ''}`)
        return ExitCode.ok
      }
      case 'rollback': {
        const result = await catalogue.rollback(target!)
        out(`rolled back ${result.id} from ${result.from} to ${result.version}`)
        return ExitCode.ok
      }
      case 'enable':
      case 'disable':
      case 'remove':
        await catalogue[action](target!)
        out(`${action === 'remove' ? 'removed' : `${action}d`} ${target!}; it takes effect at the next start or reload`)
        return ExitCode.ok
      default:
        return ExitCode.usage
    }
  } catch (error) {
    err(reportError(error))
    return ExitCode.failure
  }
}

defineCommand('plugins', {
  summary: 'the local plugin catalogue: list | install | upgrade | enable | disable | rollback | remove',
  usage,
  run: pluginsCommand,
})
