/**
 * `plinth validate`: can this app run here, now, in this environment, safely? Runs the
 * production preflight (every check the app's packages, its modules and core contribute) and
 * prints one table, or with `--json` one document for CI. Exit 0 when nothing fails (with
 * `--strict`, when nothing warns either), 1 otherwise.
 */
import { ExitCode, defineCommand, split } from './cli.js'
import { reportError } from '../errors.js'
import { knownCategories } from '../preflight/preflight.js'
import { formatPreflight } from '../preflight/report.js'

const usage = 'plinth validate [--env production] [--json] [--only CATEGORY[,CATEGORY]] [--strict] [--timeout MS] [--key=value ...]'

defineCommand('validate', {
  summary: 'check that the app can run here, now, safely: environment, database, cache, secrets, security, system, ...',
  usage,
  async run({ app, args, out, err }) {
    const known = { env: { type: 'string' }, json: { type: 'boolean' }, only: { type: 'string', multiple: true }, strict: { type: 'boolean' }, timeout: { type: 'string' } } as const
    const { values, rest: argv } = split(args, known)
    const timeout = values.timeout === undefined ? undefined : Number(values.timeout)
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
      err(`--timeout must be a whole number of milliseconds above 0; got "${String(values.timeout)}"\nusage: ${usage}`)
      return ExitCode.usage
    }
    const only = (values.only as string[] | undefined)?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
    const categories = knownCategories()
    const unknown = only?.filter((c) => !categories.includes(c)) ?? []
    try {
      const report = await app.preflight({
        argv,
        ...(typeof values.env === 'string' ? { appEnv: values.env } : {}),
        ...(only ? { only } : {}),
        ...(timeout === undefined ? {} : { timeout }),
        strict: values.strict === true,
      })
      // A category of the app's own is valid when one of its checks declares it.
      const missing = unknown.filter((c) => !report.results.some((r) => r.category === c))
      if (missing.length > 0) {
        err(`--only: no check in categor${missing.length === 1 ? 'y' : 'ies'} ${missing.map((c) => `"${c}"`).join(', ')}; the categories are ${categories.join(', ')}`)
        return ExitCode.usage
      }
      out(values.json === true ? JSON.stringify(report, null, 2) : formatPreflight(report))
      return report.ok ? ExitCode.ok : ExitCode.failure
    } catch (error) {
      err(reportError(error))
      return ExitCode.failure
    }
  },
})
