/**
 * `plinth build`: compiles the app, its discovered modules and the packages they use into one
 * file with a launcher that starts it from V8's code cache (see build/bundle.ts for why).
 */
import { relative } from 'node:path'
import { buildApp } from '../build/bundle.js'
import { isPlinthError } from '../errors.js'
import { ExitCode, defineCommand, split } from './cli.js'

const kib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

defineCommand('build', {
  summary: 'compile the app into one file that starts faster: node <out>/start.cjs runs it',
  usage: 'plinth build [--out DIR] [--external PACKAGE ...] [--no-minify]',
  async run({ app, args, out, err, appModule }) {
    const { values, rest } = split(args, { out: { type: 'string' }, external: { type: 'string', multiple: true }, 'no-minify': { type: 'boolean' } })
    if (rest.length > 0) {
      err(`plinth build: unknown option${rest.length === 1 ? '' : 's'} ${rest.join(' ')}\nusage: plinth build [--out DIR] [--external PACKAGE ...] [--no-minify]`)
      return ExitCode.usage
    }
    if (appModule === undefined) {
      err('plinth build compiles from the app module: run it as `npx plinth build` (or `plinth build --app ./dist/app.js`)')
      return ExitCode.usage
    }
    try {
      const report = await buildApp(app, {
        appModule,
        ...(typeof values.out === 'string' ? { outDir: values.out } : {}),
        ...(Array.isArray(values.external) ? { external: values.external.filter((v): v is string => typeof v === 'string') } : {}),
        minify: values['no-minify'] !== true,
      })
      for (const warning of report.warnings) err(`warning: ${warning}`)
      const show = (path: string) => relative(process.cwd(), path) || path
      out(`built ${show(report.bundle)} (${kib(report.bytes)}, ${report.modules.length} discovered module${report.modules.length === 1 ? '' : 's'}) in ${Math.round(report.durationMs)} ms`)
      out(`loaded from node_modules at run time: ${report.external.join(', ')}`)
      out(`run it: node ${show(report.entry)} (takes the commands plinth takes: node ${show(report.entry)} check)`)
      return ExitCode.ok
    } catch (error) {
      err(isPlinthError(error) ? error.describe() : error instanceof Error ? (error.stack ?? error.message) : String(error))
      return ExitCode.failure
    }
  },
})
