/**
 * The database's preflight checks, one set per database component of the app: it connects (as
 * start-up would, without migrating), every migration is applied and none is unknown, the pool
 * size suits the cores and the server's connection limit, and the clocks agree.
 */
import { availableParallelism } from 'node:os'
import { definePreflight, type AnyProvider, type PreflightCheck, type PreflightContext, type Token } from '@plinth/core'
import type { LazyDatabase, ServerFacts } from './database.js'

/** The providers database() made, so that the preflight finds them whatever token they provide. */
export const databaseProviders = new WeakSet<AnyProvider>()

/** Clock skew past which a check warns, and past which it fails, in milliseconds. */
const SKEW_WARN = 1_000
const SKEW_FAIL = 30_000

/** The database built for the run, inspected once however many checks ask; closed when the run ends. */
function inspector(target: Token<unknown>) {
  let facts: Promise<{ db: LazyDatabase; facts: ServerFacts }> | undefined
  return (context: PreflightContext) =>
    (facts ??= (async () => {
      const db = (await context.resolve(target)) as LazyDatabase
      context.onCleanup(() => db.close())
      return { db, facts: await db.inspectServer() }
    })())
}

function checksFor(target: Token<unknown>): PreflightCheck[] {
  const inspect = inspector(target)
  const label = target.name === 'database' ? '' : ` (${target.name})`
  return [
    {
      category: 'database',
      name: `connects${label}`,
      run: async (context) => {
        const { db, facts } = await inspect(context)
        return { status: 'pass', found: `${facts.version} at ${db.url}, ${Math.round(facts.roundTrip)} ms` }
      },
    },
    {
      category: 'database',
      name: `migrations applied${label}`,
      run: async (context) => {
        const { db, facts } = await inspect(context)
        const status = await db.migrator.status()
        const pending = status.filter((m) => m.state === 'pending').map((m) => `${m.module}/${m.name}`)
        const unknown = status.filter((m) => m.state === 'missing').map((m) => `${m.module}/${m.name}`)
        if (unknown.length > 0) {
          return { status: 'fail', found: `recorded as applied but not declared by this build: ${unknown.join(', ')}`, fix: 'deploy the build that declares them (a newer one ran here), or revert them with the build that has them (`plinth migrate down`)' }
        }
        if (pending.length > 0) {
          return facts.migrate
            ? { status: 'warn', found: `${pending.length} pending (${pending.join(', ')}); start-up applies them`, fix: 'apply them before the rollout (`plinth migrate up`) so that start-up does not hold the migration lock' }
            : { status: 'fail', found: `${pending.length} pending: ${pending.join(', ')}`, fix: 'run `plinth migrate up` (or set DATABASE_MIGRATE=true to apply them at start)' }
        }
        return { status: 'pass', found: `${status.length} applied` }
      },
    },
    {
      category: 'performance',
      name: `database pool size${label}`,
      run: async (context) => {
        const { db, facts } = await inspect(context)
        if (db.dialect === 'sqlite') return { status: 'pass', found: 'SQLite: one connection' }
        const cores = availableParallelism()
        const { max } = facts.pool
        if (facts.maxConnections !== undefined && max >= facts.maxConnections) {
          return { status: 'fail', found: `pool max ${max} >= the server's max_connections ${facts.maxConnections}`, fix: `lower DATABASE_POOL_MAX well below ${facts.maxConnections} divided by the number of instances` }
        }
        // A pool far above what the cores can keep busy only queues work in the database
        // (the usual sizing: a few connections per core of the database server).
        if (max > Math.max(20, cores * 8)) return { status: 'warn', found: `pool max ${max} for ${cores} CPUs`, fix: `lower DATABASE_POOL_MAX to about ${Math.max(10, cores * 4)}: more connections than the CPUs can use only queue in the database` }
        if (max < 2) return { status: 'warn', found: `pool max ${max}`, fix: 'raise DATABASE_POOL_MAX to 2 or more: one slow query would stall every request' }
        return { status: 'pass', found: `pool max ${max} for ${cores} CPUs${facts.maxConnections ? `, server allows ${facts.maxConnections}` : ''}` }
      },
    },
    {
      category: 'system',
      name: `clock skew vs database${label}`,
      run: async (context) => {
        const began = Date.now()
        const { db, facts } = await inspect(context)
        if (!facts.serverTime) return { status: 'pass', found: `${db.dialect}: same clock as the process` }
        // The server read its clock somewhere in the round trip: compare with its middle.
        const skew = Math.abs(facts.serverTime.getTime() - (began + facts.roundTrip / 2))
        const found = `${Math.round(skew)} ms apart (round trip ${Math.round(facts.roundTrip)} ms)`
        if (skew <= SKEW_WARN + facts.roundTrip) return { status: 'pass', found }
        const fix = 'synchronise both clocks with NTP (chrony, systemd-timesyncd): tokens, leases and timestamps compare them'
        return { status: skew > SKEW_FAIL ? 'fail' : 'warn', found, fix }
      },
    },
  ]
}

definePreflight(({ providers }) => providers.filter((p) => databaseProviders.has(p)).flatMap((p) => checksFor(p.provides as Token<unknown>)))
