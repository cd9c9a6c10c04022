/**
 * Applies and reverts migrations, each in its own transaction, recorded in `plinth_migrations`,
 * under a lock that makes concurrent instances apply each exactly once.
 *
 * Why each migration has its own transaction and not one for the run: a failure then keeps the
 * migrations before it, and a process killed mid-run loses only the migration in flight, which
 * the database rolls back (PostgreSQL aborts the dead session's transaction; SQLite rolls back
 * its journal when the file is next opened). The record is written in the same transaction as
 * the change, so "applied" and "recorded" cannot disagree.
 */
import { describeError, PlinthError, type Logger } from '@plinth/core'
import { sql, type Kysely } from 'kysely'
import { safeCause, safeMessage } from './connect-errors.js'
import { lockPostgres, lockSqlite } from './migration-lock.js'
import type { PlannedMigration } from './migrations.js'
import type { Dialect } from './url.js'
import { dbErrors } from './errors.js'

export const MIGRATIONS_TABLE = 'plinth_migrations'

export interface MigrationStatus {
  readonly module: string
  readonly name: string
  /** `missing`: recorded as applied, but no code declares it any more. */
  readonly state: 'applied' | 'pending' | 'missing'
  readonly appliedAt?: string
}

export interface AppliedMigration {
  readonly module: string
  readonly name: string
  /** Milliseconds. */
  readonly duration: number
}

export interface MigratorSettings {
  readonly dialect: Dialect
  /** The SQLite file (for its lock file); `:memory:` needs no lock. */
  readonly file?: string
  /** The redacted URL, for messages. */
  readonly url: string
  readonly secrets: readonly string[]
  /** How long to wait for another instance's migrations, in milliseconds. */
  readonly lockTimeout: number
  readonly log: Logger
}

interface Row {
  module: string
  name: string
  seq: number
  applied_at: string
}

type Run = <R>(work: (db: Kysely<any>) => Promise<R>) => Promise<R>

/**
 * Applies, reverts and lists one database's migrations.
 *
 * @example
 * const db = t.get(Database)
 * for (const m of await db.migrator.status()) console.log(m.module, m.name, m.applied ? 'applied' : 'pending')
 * await db.migrator.down({ steps: 1 })
 */
export class Migrator {
  readonly #db: Kysely<any>
  readonly #plan: readonly PlannedMigration[]
  readonly #settings: MigratorSettings

  constructor(db: Kysely<any>, plan: readonly PlannedMigration[], settings: MigratorSettings) {
    this.#db = db
    this.#plan = plan
    this.#settings = settings
  }

  /** The declared migrations, in the order they are applied. */
  get plan(): readonly PlannedMigration[] {
    return this.#plan
  }

  /** Every declared migration with its state, then those recorded but no longer declared. Takes no lock. */
  async status(): Promise<MigrationStatus[]> {
    const rows = (await this.#tableExists(this.#db)) ? await this.#applied(this.#db) : []
    return statusOf(this.#plan, rows)
  }

  /** Applies every pending migration in order. Resolves to those this call applied (none when another instance did). */
  async up(options: { signal?: AbortSignal } = {}): Promise<AppliedMigration[]> {
    if (this.#plan.length === 0) return []
    return this.#locked(options.signal, async (run) => {
      const recorded = new Set((await run((db) => this.#applied(db))).map((r) => `${r.module}/${r.name}`))
      const pending = this.#plan.filter((m) => !recorded.has(`${m.module}/${m.name}`))
      const applied: AppliedMigration[] = []
      for (const planned of pending) {
        options.signal?.throwIfAborted()
        const began = performance.now()
        this.#settings.log.debug({ module: planned.module, migration: planned.name }, `applying migration ${planned.module}/${planned.name}`)
        await run((db) => this.#apply(db, planned, applied))
        const duration = performance.now() - began
        applied.push({ module: planned.module, name: planned.name, duration })
        this.#settings.log.info({ module: planned.module, migration: planned.name, duration: Math.round(duration) }, `applied migration ${planned.module}/${planned.name} (${Math.round(duration)} ms)`)
      }
      return applied
    })
  }

  /** Reverts the last `steps` applied migrations (of `module` when given), newest first. */
  async down(options: { steps?: number; module?: string; signal?: AbortSignal } = {}): Promise<AppliedMigration[]> {
    const steps = options.steps ?? 1
    return this.#locked(options.signal, async (run) => {
      const rows = (await run((db) => this.#applied(db))).filter((r) => options.module === undefined || r.module === options.module)
      const reverted: AppliedMigration[] = []
      for (const row of rows.reverse().slice(0, steps)) {
        const planned = this.#plan.find((m) => m.module === row.module && m.name === row.name)
        if (!planned?.migration.down) {
          const why = planned ? 'has no down()' : 'is no longer declared by any module'
          throw dbErrors.create('PLINTH_ERR_MIGRATION_INVALID', `cannot revert migration "${row.module}/${row.name}": it ${why}`, { details: { module: row.module, name: row.name } })
        }
        const began = performance.now()
        await run((db) => this.#revert(db, planned))
        reverted.push({ module: row.module, name: row.name, duration: performance.now() - began })
        this.#settings.log.info({ module: row.module, migration: row.name }, `reverted migration ${row.module}/${row.name}`)
      }
      return reverted
    })
  }

  async #apply(db: Kysely<any>, planned: PlannedMigration, before: readonly AppliedMigration[]): Promise<void> {
    const transactional = planned.migration.transaction !== false
    const began = performance.now()
    try {
      await this.#inTransaction(db, transactional, async () => {
        await planned.migration.up(db)
        const { rows } = await sql<{ seq: number | string }>`select coalesce(max(seq), 0) + 1 as seq from ${sql.table(MIGRATIONS_TABLE)}`.execute(db)
        await db
          .insertInto(MIGRATIONS_TABLE)
          .values({ module: planned.module, name: planned.name, seq: Number(rows[0]?.seq ?? 1), applied_at: new Date().toISOString(), duration_ms: Math.round(performance.now() - began) })
          .execute()
      })
    } catch (error) {
      throw this.#failed('apply', planned, error, transactional, before)
    }
  }

  async #revert(db: Kysely<any>, planned: PlannedMigration): Promise<void> {
    const transactional = planned.migration.transaction !== false
    try {
      await this.#inTransaction(db, transactional, async () => {
        await planned.migration.down!(db)
        await db.deleteFrom(MIGRATIONS_TABLE).where('module', '=', planned.module).where('name', '=', planned.name).execute()
      })
    } catch (error) {
      throw this.#failed('revert', planned, error, transactional, [])
    }
  }

  async #inTransaction(db: Kysely<any>, transactional: boolean, work: () => Promise<void>): Promise<void> {
    if (!transactional) return work()
    // IMMEDIATE takes SQLite's write lock at once, instead of failing mid-migration when another process writes.
    await sql.raw(this.#settings.dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(db)
    try {
      await work()
      await sql`commit`.execute(db)
    } catch (error) {
      await sql`rollback`.execute(db).catch(() => undefined)
      throw error
    }
  }

  #failed(verb: 'apply' | 'revert', planned: PlannedMigration, error: unknown, transactional: boolean, before: readonly AppliedMigration[]): PlinthError {
    const id = `${planned.module}/${planned.name}`
    const state = transactional ? 'was rolled back' : 'ran outside a transaction, so whatever it did before failing stays; repair it by hand'
    const kept = before.length > 0 ? `; the ${before.length} migration${before.length === 1 ? '' : 's'} applied before it in this run stay applied` : ''
    const reason = safeMessage(error, this.#settings.secrets)
    return dbErrors.create('PLINTH_ERR_MIGRATION_FAILED', `migration "${id}" failed to ${verb} and ${state}${kept}: ${reason}`, {
      cause: safeCause(error, this.#settings.secrets),
      details: { module: planned.module, name: planned.name, database: this.#settings.url, reason, applied: before.map((m) => `${m.module}/${m.name}`) },
    })
  }

  /** Runs `work` holding the migration lock, with the records table in place. */
  async #locked<T>(signal: AbortSignal | undefined, work: (run: Run) => Promise<T>): Promise<T> {
    const { dialect, file, lockTimeout, url, log } = this.#settings
    const lockOptions = { timeout: lockTimeout, signal, onWait: (holder: string) => log.info(`waiting for another instance's migrations of ${url} (${holder})`) }
    if (dialect === 'postgres') {
      return this.#db.connection().execute(async (db) => {
        const release = await lockPostgres(db, url, lockOptions)
        try {
          await this.#ensureTable(db)
          return await work((fn) => fn(db))
        } finally {
          await release().catch((error: unknown) => {
            const reason = describeError(safeCause(error, this.#settings.secrets))
            log.warn({ reason }, `releasing the migration lock failed (${reason}); it is released when the connection closes`)
          })
        }
      })
    }
    const release = file && file !== ':memory:' ? await lockSqlite(file, lockOptions) : () => Promise.resolve()
    try {
      const run: Run = (fn) => this.#db.connection().execute(fn)
      await run((db) => this.#ensureTable(db))
      return await work(run)
    } finally {
      await release()
    }
  }

  async #ensureTable(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable(MIGRATIONS_TABLE)
      .ifNotExists()
      .addColumn('module', 'varchar(200)', (c) => c.notNull())
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('applied_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${MIGRATIONS_TABLE}_pkey`, ['module', 'name'])
      .execute()
  }

  async #tableExists(db: Kysely<any>): Promise<boolean> {
    const query =
      this.#settings.dialect === 'postgres'
        ? sql<{ found: unknown }>`select to_regclass(${MIGRATIONS_TABLE}) as found`
        : sql<{ found: unknown }>`select name as found from sqlite_master where type = 'table' and name = ${MIGRATIONS_TABLE}`
    const { rows } = await query.execute(db)
    return rows[0]?.found != null
  }

  async #applied(db: Kysely<any>): Promise<Row[]> {
    const rows = await db.selectFrom(MIGRATIONS_TABLE).select(['module', 'name', 'seq', 'applied_at']).orderBy('seq').execute()
    return rows
  }
}

function statusOf(plan: readonly PlannedMigration[], rows: readonly Row[]): MigrationStatus[] {
  const recorded = new Map(rows.map((r) => [`${r.module}/${r.name}`, r]))
  const out: MigrationStatus[] = plan.map((m) => {
    const row = recorded.get(`${m.module}/${m.name}`)
    return row ? { module: m.module, name: m.name, state: 'applied', appliedAt: row.applied_at } : { module: m.module, name: m.name, state: 'pending' }
  })
  const declared = new Set(plan.map((m) => `${m.module}/${m.name}`))
  for (const row of rows) if (!declared.has(`${row.module}/${row.name}`)) out.push({ module: row.module, name: row.name, state: 'missing', appliedAt: row.applied_at })
  return out
}
