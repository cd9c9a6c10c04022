/**
 * `plinth projections status | rebuild NAME`: where each projection stands against the store's
 * head, and a rebuild from position 0 (read model emptied and checkpoint reset in one
 * transaction, then replayed), without starting the app: only the database, the store and the
 * projections are built.
 */
import { Application, Container, ExitCode, Logger, defineCommand, provide, type CommandContext, reportError } from '@plinth/core'
import { Database } from '@plinth/db'
import { EventStore, Projections } from './tokens.js'
import { cqrsErrors } from './errors.js'
import { projectionCheckpoint, resetProjection, runProjection } from './projection.js'
import { SqlEventStore } from './sql-store.js'

const usage = 'plinth projections status | rebuild NAME'

async function projections({ app, args, out, err }: CommandContext): Promise<number> {
  const [action, name] = args
  if (action !== 'status' && action !== 'rebuild') {
    err(`plinth projections needs status or rebuild NAME; got ${action === undefined ? 'nothing' : `"${action}"`}\nusage: ${usage}`)
    return ExitCode.usage
  }
  const report = await app.check({ argv: args.slice(action === 'rebuild' ? 2 : 1) })
  if (report.problems.length > 0) {
    err(`the app's dependency graph has ${report.problems.length} problem(s); run \`plinth check\` for the list`)
    return ExitCode.failure
  }
  const container = new Container([...app.providers(), provide(Application, { value: app }), provide(Logger, { value: app.logger })])
  let db: Database | undefined
  try {
    db = await container.resolve(Database)
    await db.start()
    const store = await container.resolve(EventStore)
    const definitions = await container.resolve(Projections)
    const head = await store.headPosition()
    if (action === 'status') {
      for (const definition of definitions) {
        const at = await store.readCheckpoint(projectionCheckpoint(definition.name))
        out(`${definition.name}: at ${at} of ${head}${at >= head ? ' (caught up)' : ` (${head - at} behind)`}`)
      }
      if (definitions.length === 0) out('no projections declared')
      return ExitCode.ok
    }
    const definition = definitions.find((candidate) => candidate.name === name)
    if (definition === undefined) {
      throw cqrsErrors.create('PLINTH_ERR_EVENTS_UNKNOWN_PROJECTION', `no projection named ${JSON.stringify(name)}; declared: ${definitions.map((d) => d.name).join(', ') || 'none'}`)
    }
    if (!(store instanceof SqlEventStore)) throw cqrsErrors.create('PLINTH_ERR_EVENTS_SETUP', 'rebuilding needs the event store on the app database (a read model and its checkpoint are reset in one transaction)')
    await resetProjection(store, definition)
    out(`${definition.name}: read model emptied, checkpoint at 0; replaying ${head} events`)
    const started = performance.now()
    const running = runProjection(store, definition, { batchSize: 500 })
    running.start()
    try {
      await running.caughtUp(head, 24 * 60 * 60 * 1_000)
    } finally {
      await running.stop()
    }
    out(`${definition.name}: rebuilt to position ${head} in ${Math.round(performance.now() - started)} ms`)
    return ExitCode.ok
  } catch (error) {
    err(reportError(error))
    return ExitCode.failure
  } finally {
    await container.dispose().catch(() => undefined)
    await db?.close()
  }
}

defineCommand('projections', { summary: 'show where each projection stands, or rebuild one from the first event', usage, run: projections })
