/**
 * `plinth migrate up | down | status`: the app's migrations, applied, reverted or listed
 * without starting the app. Only the database component and the migrations are built.
 */
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Application, Container, defineCommand, ExitCode, Logger, provide, type App, type CommandContext, type Token, reportError } from '@plinth/core'
import type { Database } from './component.js'
import { Migrations } from './migrations.js'
import { parseDatabaseUrl } from './url.js'

const usage = 'plinth migrate up|down|status [--database NAME] [--steps N] [--module ID] [--key=value ...]'

function parse(args: string[]) {
  const known = { database: { type: 'string' }, steps: { type: 'string' }, module: { type: 'string' } } as const
  const { values, tokens } = parseArgs({ args, options: known, strict: false, tokens: true, allowPositionals: true })
  const positionals: string[] = []
  const rest: string[] = []
  for (const token of tokens) {
    if (token.kind === 'option' && token.name in known) continue
    if (token.kind === 'option') {
      rest.push(token.rawName + (token.inlineValue && token.value !== undefined ? `=${token.value}` : ''))
      if (!token.inlineValue && token.value !== undefined) rest.push(token.value)
    }
    if (token.kind === 'positional') positionals.push(token.value)
  }
  return { values: values as { database?: string; steps?: string; module?: string }, positionals, rest }
}

/** Builds the named database component alone, with the migrations meant for it. */
async function buildDatabase(app: App, name: string, argv: string[], err: (text: string) => void): Promise<Database | number> {
  const report = await app.check({ argv })
  if (report.problems.length > 0) {
    err(`the app's dependency graph has ${report.problems.length} problem(s); run \`plinth check\` for the list`)
    return ExitCode.failure
  }
  const providers = app.providers()
  const provider = providers.find((p) => p.provides.kind === 'token' && p.provides.name === name)
  if (!provider) {
    err(`no database component named "${name}" in app "${app.name}"; add database() to its components, or pass --database NAME`)
    return ExitCode.usage
  }
  const sets = providers.filter((p) => p.provides.id === Migrations.id)
  const container = new Container([provider, ...sets, provide(Application, { value: app }), provide(Logger, { value: app.logger })])
  return (await container.resolve(provider.provides as Token<Database>))
}

async function migrate({ app, args, out, err }: CommandContext): Promise<number> {
  const { values, positionals, rest } = parse(args)
  const action = positionals[0]
  if (action !== 'up' && action !== 'down' && action !== 'status') {
    err(`plinth migrate needs one of up, down or status; got ${action === undefined ? 'nothing' : `"${action}"`}\nusage: ${usage}`)
    return ExitCode.usage
  }
  const steps = values.steps === undefined ? 1 : Number(values.steps)
  if (!Number.isInteger(steps) || steps < 1) {
    err(`--steps must be a whole number of at least 1; got "${values.steps}"`)
    return ExitCode.usage
  }
  let db: Database | undefined
  try {
    const built = await buildDatabase(app, values.database ?? 'database', rest, err)
    if (typeof built === 'number') return built
    db = built
    const location = db.dialect === 'sqlite' ? parseDatabaseUrl(db.url) : undefined
    if (action === 'status' && location?.dialect === 'sqlite' && location.file !== ':memory:' && !existsSync(location.file)) {
      // A report creates nothing: opening the file would leave an empty database (and its folder) behind.
      for (const m of db.migrator.plan) out(`pending  ${m.module}/${m.name}`)
      out(`${db.url}: no database there yet, ${db.migrator.plan.length} pending; \`plinth migrate up\` or the first start creates it`)
      return ExitCode.ok
    }
    await db.ping({ timeout: 10_000 })
    if (action === 'status') {
      const status = await db.migrator.status()
      for (const m of status) out(`${m.state.padEnd(8)} ${m.module}/${m.name}${m.appliedAt ? `  ${m.appliedAt}` : ''}${m.state === 'missing' ? '  (recorded as applied, no longer declared)' : ''}`)
      const count = (state: string) => status.filter((m) => m.state === state).length
      out(`${db.url}: ${count('applied')} applied, ${count('pending')} pending${count('missing') ? `, ${count('missing')} missing` : ''}`)
    } else if (action === 'up') {
      const applied = await db.migrator.up()
      for (const m of applied) out(`applied  ${m.module}/${m.name} (${Math.round(m.duration)} ms)`)
      out(applied.length === 0 ? `${db.url}: nothing to apply; every migration is applied` : `${db.url}: applied ${applied.length} migration(s)`)
    } else {
      const reverted = await db.migrator.down({ steps, ...(values.module ? { module: values.module } : {}) })
      for (const m of reverted) out(`reverted ${m.module}/${m.name} (${Math.round(m.duration)} ms)`)
      out(reverted.length === 0 ? `${db.url}: nothing to revert` : `${db.url}: reverted ${reverted.length} migration(s)`)
    }
    return ExitCode.ok
  } catch (error) {
    err(reportError(error))
    return ExitCode.failure
  } finally {
    await db?.close()
  }
}

defineCommand('migrate', {
  summary: 'apply, revert or list database migrations: migrate up | down [--steps N] | status',
  usage,
  run: migrate,
})
